// The `podrunner sim gitlab` command, driven by a shell script that uses only curl and git.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.ts';

const run = promisify(execFile);
const repoRoot = new URL('../../../', import.meta.url).pathname;

describe('podrunner sim gitlab, by hand with curl and git', () => {
  let child: ChildProcess;
  let url: string;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    dir = await tempDir();
    child = spawn(
      process.execPath,
      [
        join(repoRoot, 'bin/podrunner.js'),
        'sim',
        'gitlab',
        '--listen',
        '127.0.0.1:0',
        '--admin-token-file',
        join(dir.path, 'token'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout?.setEncoding('utf8');
    url = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (chunk: string) => {
        out += chunk;
        const m = /embedded GitLab at (\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`sim gitlab exited with ${code}: ${out}`)));
    });
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await dir.remove();
  });

  it('creates a runner and a project, pushes, runs a pipeline by hand and reads the exact trace back', async () => {
    const work = join(dir.path, 'work');
    await run('mkdir', ['-p', work]);
    const result = await run(
      'bash',
      [join(repoRoot, 'test/integration/sim-gitlab/by-hand.sh'), url, join(dir.path, 'token'), work],
      {
        timeout: 60_000,
      },
    ).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`script failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
    });
    expect(result.stdout).toContain('ALL OK');
  });

  it('refuses a bad --config naming the file and the key', async () => {
    const config = join(dir.path, 'bad.json');
    await run('sh', ['-c', `echo '{"longPollSeconds": "soon"}' > ${config}`]);
    const failed = await run(process.execPath, [
      join(repoRoot, 'bin/podrunner.js'),
      'sim',
      'gitlab',
      '--config',
      config,
    ]).then(
      () => null,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toContain(`${config}: longPollSeconds:`);
  });

  it('stops on SIGTERM', async () => {
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});
