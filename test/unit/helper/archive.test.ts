import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { checkEntryName, SafeWriter } from '../../../helper/archive/safe-writer.ts';
import { artifactFilename, artifactsFor } from '../../../helper/artifacts/upload.ts';
import { matchFiles, relativeToProject, splitPattern } from '../../../helper/files/match.ts';
import { Trace } from '../../../helper/output/trace.ts';
import { waitForBuild } from '../../../helper/status/build-watch.ts';
import { parseJobPayload } from '../../../src/gitlab/payload.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'helper-unit-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('archive entry safety', () => {
  it('accepts relative names and refuses absolute, escaping and empty ones', () => {
    expect(checkEntryName('a/./b/')).toBe('a/b');
    expect(() => checkEntryName('../x')).toThrow('archive entry "../x" escapes the target directory');
    expect(() => checkEntryName('a/../../x')).toThrow(/escapes/);
    expect(() => checkEntryName('/etc/passwd')).toThrow(/absolute path/);
    expect(() => checkEntryName('./')).toThrow(/empty name/);
  });

  it('never writes through a symlink, even one the archive created itself', async () => {
    const root = tmp();
    const outside = tmp();
    const writer = new SafeWriter(root);
    await writer.symlink('link', outside);
    await expect(writer.file('link/evil.txt', 0o644, Readable.from([Buffer.from('x')]))).rejects.toThrow(
      /would be written through the symbolic link link/,
    );
    await writer.file('dir/ok.txt', 0o640, Readable.from([Buffer.from('ok')]));
    await writer.finish();
    expect(readFileSync(path.join(root, 'dir/ok.txt'), 'utf8')).toBe('ok');
    expect(execFileSync('ls', [outside]).toString()).toBe('');
  });
});

describe('file matching (upstream fileArchiver rules)', () => {
  it('splits and relativises patterns, refusing paths outside the project', () => {
    expect(splitPattern('dist/**/*.js')).toEqual({ base: 'dist', rest: '**/*.js' });
    expect(splitPattern('*.txt')).toEqual({ base: '.', rest: '*.txt' });
    expect(relativeToProject('/p', '/p/dist/*.js')).toBe('dist/*.js');
    expect(() => relativeToProject('/p', '../x')).toThrow(/not a subpath/);
  });

  it('walks matches without following symlinks and excludes single paths', async () => {
    const wd = tmp();
    mkdirSync(path.join(wd, 'dist/sub'), { recursive: true });
    writeFileSync(path.join(wd, 'dist/a.js'), 'a');
    writeFileSync(path.join(wd, 'dist/sub/b.js'), 'b');
    writeFileSync(path.join(wd, 'dist/sub/b.js.map'), 'm');
    writeFileSync(path.join(wd, '.hidden.js'), 'h');
    symlinkSync('/etc', path.join(wd, 'dist/etc-link'));
    let log = '';
    const trace = new Trace({ write: (s) => (log += s) });
    const files = await matchFiles({ wd, paths: ['dist', '*.js', 'missing/'], exclude: ['**/*.map'], trace });
    expect(files.map((f) => f.rel)).toEqual([
      '.hidden.js',
      'dist',
      'dist/a.js',
      'dist/etc-link',
      'dist/sub',
      'dist/sub/b.js',
    ]);
    expect(files.find((f) => f.rel === 'dist/etc-link')?.stats.isSymbolicLink()).toBe(true);
    expect(log).toContain('dist: found 5 matching artifact files and directories');
    expect(log).toContain(
      'missing/: no matching files. Ensure that the artifact path is relative to the working directory',
    );
    expect(log).toContain('**/*.map: excluded 1 files');
  });
});

describe('artifact selection', () => {
  it('picks artifacts by when and names files like upstream', () => {
    const parsed = parseJobPayload({
      ...JSON.parse(readFileSync(new URL('../../fixtures/gitlab/job-full.json', import.meta.url), 'utf8')),
    });
    if (!parsed.ok) throw new Error(parsed.error);
    const arts = parsed.job.artifacts;
    expect(artifactsFor(arts, true).map((a) => a.artifact_type)).toEqual(['archive', 'junit']);
    expect(artifactsFor([{ ...arts[0]!, when: 'on_failure' }], true)).toEqual([]);
    expect(artifactFilename(null, 'zip')).toBe('artifacts.zip');
    expect(artifactFilename('out/junit.xml', 'gzip')).toBe('junit.xml.gz');
    expect(artifactFilename('.', 'zip')).toBe('default.zip');
    expect(artifactFilename('report.json', 'raw')).toBe('report.json');
  });
});

describe('waiting for the build container', () => {
  it('returns when the last writer of build.alive is gone and reads build.exit', async () => {
    const status = tmp();
    execFileSync('mkfifo', [path.join(status, 'build.alive')]);
    const child = spawn('sh', [
      '-c',
      `exec 9<>'${status}/build.alive'; : > '${status}/build.started'; sleep 0.4; echo 3 > '${status}/build.exit'`,
    ]);
    const closed = new Promise((r) => child.on('close', r));
    const started = Date.now();
    const outcome = await waitForBuild(status, { pollMs: 20 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(outcome).toEqual({ success: false, exitCode: 3, killed: false });
    await closed;
  });

  it('reports a build that ended without build.exit as killed', async () => {
    const status = tmp();
    execFileSync('mkfifo', [path.join(status, 'build.alive')]);
    writeFileSync(path.join(status, 'build.started'), '');
    expect(await waitForBuild(status, { pollMs: 20 })).toEqual({ success: false, killed: true });
  });
});
