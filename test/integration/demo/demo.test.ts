// `npm run demo` as README.md gives it: the command runs as a user runs it (npm, then `podrunner demo` in
// its own process, which starts `podrunner run` in another), while kubectl watches the job pods through
// the kubeconfig line it prints. Also a failing pipeline (hidden `--project`), which must exit non-zero
// and say which job failed and why.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';

/** The README's demo command, after `npm ci`. */
const README_DEMO_COMMAND = 'npm run demo';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Run {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first output line matching (already seen or to come); rejects at exit. */
  line(match: RegExp): Promise<string>;
  exit: Promise<number | null>;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  // Its own process group, so that a failed test can stop npm, the demo and the manager together.
  // Colour settings of the test runner's environment are not passed on: the output is not a terminal.
  const { FORCE_COLOR: _f, NO_COLOR: _n, ...inherited } = process.env;
  const child = spawn(command, args, {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  const listeners = new Set<() => void>();
  const take = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const l of [...listeners]) l();
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  // A process ended by a signal exits as a shell reports it: 128 + the signal's number.
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + constants.signals[signal] : null))),
  );
  let ended = false;
  void exit.then(() => {
    ended = true;
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {}
      await exit;
    }
  });
  return {
    child,
    output: () => text,
    exit,
    line(match) {
      return new Promise((resolve, reject) => {
        const check = () => {
          // Complete lines only (the last piece may be half a line), unless the process has ended.
          const lines = text.split('\n');
          if (!ended) lines.pop();
          const found = lines.find((l) => match.test(l));
          if (found === undefined) return false;
          listeners.delete(check);
          resolve(found);
          return true;
        };
        if (check()) return;
        listeners.add(check);
        void exit.then(() => {
          if (!check()) reject(new Error(`exited before a line matching ${match}:\n${text}`));
        });
      });
    },
  };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'podrunner-demo-test-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm run demo', () => {
  it('runs the sample pipeline live, prints a working kubectl line and the summary, and exits 0', async () => {
    const dir = await tempDir();
    const demo = start('/bin/sh', ['-c', `${README_DEMO_COMMAND} -- --dir '${dir}'`]);

    const kubectlLine = await demo.line(/kubectl get pods -w/);
    const kubeconfig = /KUBECONFIG=(\S+) kubectl get pods -w/.exec(kubectlLine)?.[1];
    expect(kubeconfig).toBe(join(dir, 'kubeconfig'));
    const watch = start('/usr/bin/kubectl', ['get', 'pods', '-w'], { KUBECONFIG: kubeconfig });

    const code = await demo.exit;
    const out = demo.output();
    expect(code, out).toBe(0);

    // Not a terminal: no colours and no escape sequences at all; no raw section markers.
    expect(out).not.toMatch(/\x1b/);
    expect(out).not.toContain('section_start');
    expect(out).not.toContain('section_end');

    const jobLines = (job: string) =>
      out
        .split('\n')
        .filter((l) => l.startsWith(`${job} `))
        .map((l) => l.replace(/^\S+\s+\| ?/, ''));
    const hello = jobLines('hello-kubernetes');
    expect(hello).toContain('Hello from GitLab Runner on Kubernetes!');
    expect(hello).toContainEqual(
      expect.stringMatching(/^Running on pod: runner-[a-z0-9]+-project-\d+-concurrent-\d+-\w+$/),
    );
    expect(hello).toContainEqual(expect.stringMatching(/^Date: \w+/));
    expect(hello).toContain('Testing network:');
    expect(hello).toContainEqual(expect.stringMatching(/^No network connectivity \(may be expected/));
    // Section titles are shown as GitLab's viewer shows them.
    expect(hello).toContain('Getting source from Git repository');
    expect(hello).toContain('Executing "step_script" stage of the job script');
    expect(hello).toContain('Job succeeded');

    expect(jobLines('node-versions')).toContain('$ node --version');
    expect(jobLines('node-versions')).toContainEqual(expect.stringMatching(/^v\d+\.\d+\.\d+$/));
    expect(jobLines('test-job')).toContain('Running tests...');
    expect(jobLines('test-job')).toContain('1..3');
    expect(jobLines('build-job')).toContain('Building the application...');
    expect(jobLines('build-job')).toContain('Uploading artifacts...');
    expect(jobLines('docker-build')).toContain('OK <- docker:dind answered on localhost:2375');

    // The test stage ends before the build stage starts.
    const lastTestLine = Math.max(
      ...['hello-kubernetes', 'node-versions', 'test-job'].map((j) => out.lastIndexOf(`\n${j} `)),
    );
    expect(out.indexOf('\nbuild-job ')).toBeGreaterThan(lastTestLine);

    expect(out).toMatch(/^Pipeline #1 \(root\/runner-test\) passed in [\d.]+m?s$/m);
    expect(out).toMatch(/^ {2}JOB +STAGE +STATUS +DURATION +WHERE THE TIME WENT$/m);
    for (const [job, stage] of [
      ['hello-kubernetes', 'test'],
      ['node-versions', 'test'],
      ['test-job', 'test'],
      ['build-job', 'build'],
      ['docker-build', 'build'],
    ]) {
      expect(out).toMatch(
        new RegExp(
          `^ {2}${job} +${stage} +passed +[\\d.]+m?s +queued .*image pull .*script .*\\(total [\\d.]+m?s\\)$`,
          'm',
        ),
      );
    }
    expect(out).toMatch(/^ {2}build-job .* upload [\d.]+m?s/m);

    // kubectl, started from the printed line, saw the job pods while the demo ran.
    expect(watch.output()).toMatch(/^runner-[a-z0-9]+-project-1-concurrent-\d+-\w+ +\d\/\d +\S+/m);

    // The manager ran as its own process, logged to the demo directory, was stopped with SIGQUIT and is gone.
    const pid = Number(/podrunner run is ready \(pid (\d+)/.exec(out)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(isRunning(pid)).toBe(false);
    const log = await readFile(join(dir, 'manager.log'), 'utf8');
    expect(log).toContain('SIGQUIT received');
    expect(log.match(/"msg":"job finished"/g)).toHaveLength(5);
    expect(existsSync(join(dir, 'config.toml'))).toBe(true);
  }, 240_000);

  it('exits 1 when the pipeline fails, naming the job and why', async () => {
    const dir = await tempDir();
    const demo = start(process.execPath, [
      'bin/podrunner.js',
      'demo',
      '--no-color',
      '--dir',
      dir,
      '--project',
      'test/fixtures/demo/failing-project',
    ]);
    const code = await demo.exit;
    const out = demo.output();
    expect(code, out).toBe(1);
    expect(out).toContain('unit-tests | 1 of 2 tests failed');
    expect(out).toMatch(/^Pipeline #1 \(root\/runner-test\) failed in /m);
    expect(out).toMatch(/^ {2}unit-tests +test +failed +[\d.]+m?s +queued /m);
    expect(out).toMatch(/^ {2}package +build +skipped +- +-$/m);
    expect(out).toContain(
      'Job unit-tests (stage test) failed: script_failure: ERROR: Job failed: command terminated with exit code 3',
    );
    expect(out).toContain(`The manager's log: ${join(dir, 'manager.log')}`);
  }, 180_000);

  it('exits 2 without starting anything when --project has no .gitlab-ci.yml', async () => {
    const dir = await tempDir();
    const demo = start(process.execPath, ['bin/podrunner.js', 'demo', '--project', dir]);
    expect(await demo.exit).toBe(2);
    expect(demo.output()).toContain(`${dir} has no .gitlab-ci.yml`);
  });

  it('--keep leaves GitLab, Kubernetes and the manager up until Ctrl-C, then stops them all', async () => {
    const dir = await tempDir();
    const project = join(dir, 'project');
    await mkdir(project);
    await writeFile(join(project, '.gitlab-ci.yml'), 'quick:\n  script:\n    - echo quick job\n');
    const demo = start(process.execPath, [
      'bin/podrunner.js',
      'demo',
      '--keep',
      '--dir',
      dir,
      '--project',
      project,
    ]);
    await demo.line(/^Everything stays up until Ctrl-C:/);
    await demo.line(/^ {2}Manager +http/);
    const out = demo.output();
    expect(out).toMatch(/^ {2}quick +test +passed /m);

    const kubectl = start('/usr/bin/kubectl', ['get', 'nodes', '-o', 'name'], {
      KUBECONFIG: join(dir, 'kubeconfig'),
    });
    expect(await kubectl.exit, kubectl.output()).toBe(0);
    expect(kubectl.output()).toMatch(/^node\//m);

    const jobsUrl = /GitLab +(http:\S+\/jobs)/.exec(out)?.[1] as string;
    const token = (await readFile(join(dir, 'gitlab-admin-token'), 'utf8')).trim();
    const jobs = await request(jobsUrl, { headers: { 'private-token': token } });
    expect(jobs.statusCode).toBe(200);
    expect(
      ((await jobs.body.json()) as { name: string; status: string }[]).map((j) => [j.name, j.status]),
    ).toEqual([['quick', 'success']]);
    const metricsUrl = /Manager +(http:\S+\/metrics)/.exec(out)?.[1] as string;
    const metrics = await request(metricsUrl);
    expect(await metrics.body.text()).toMatch(/^gitlab_runner_jobs_total\{.*\} 1$/m);

    const pid = Number(/podrunner run is ready \(pid (\d+)/.exec(out)?.[1]);
    demo.child.kill('SIGINT');
    expect(await demo.exit, demo.output()).toBe(0);
    expect(isRunning(pid)).toBe(false);
    expect(await readFile(join(dir, 'manager.log'), 'utf8')).toContain('SIGQUIT received');
    await expect(request(jobsUrl, { headers: { 'private-token': token } })).rejects.toThrow();
  }, 120_000);

  it('Ctrl-C under npm while a job runs: one stop, the manager aborts and reports the job, everything stops', async () => {
    const dir = await tempDir();
    const project = join(dir, 'project');
    await mkdir(project);
    await writeFile(
      join(project, '.gitlab-ci.yml'),
      'slow:\n  script:\n    - echo started\n    - sleep 300\n',
    );
    const demo = start('/bin/sh', [
      '-c',
      `exec ${README_DEMO_COMMAND} -- --dir '${dir}' --project '${project}'`,
    ]);
    await demo.line(/^slow +\| started$/);
    const pid = Number(/podrunner run is ready \(pid (\d+)/.exec(demo.output())?.[1]);
    // What a terminal does on Ctrl-C: SIGINT to the whole foreground process group (npm forwards it too,
    // so the demo gets it twice).
    process.kill(-(demo.child.pid as number), 'SIGINT');
    expect(await demo.exit, demo.output()).toBe(130);
    expect(demo.output().match(/SIGINT: stopping/g)).toHaveLength(1);
    expect(isRunning(pid)).toBe(false);
    const log = await readFile(join(dir, 'manager.log'), 'utf8');
    expect(log).toContain('SIGINT received');
    // The job was aborted and its end reported to GitLab before the demo stopped GitLab.
    expect(log).toMatch(/"aborted":1,"unreported":0,"msg":"stopped"/);
  }, 120_000);
});
