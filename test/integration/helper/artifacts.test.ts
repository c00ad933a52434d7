// Artifacts through the real helper program: upload after the build (when, globs, excludes, reports,
// 413, dropped connections) and download as a dependency (redirect, corrupt and hostile archives).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import type { JobPayloadInput } from '../../../src/gitlab/payload.ts';
import { finishedBuild, startBuild } from './support/build.ts';
import { makeJob } from './support/jobs.ts';
import { helperSettings, type PodDirs, podDirs, runHelper } from './support/run-helper.ts';
import { type HelperTarget, startTarget } from './support/target.ts';

let target: HelperTarget;
const pods: PodDirs[] = [];
let nextId = 100;

beforeAll(async () => {
  target = await startTarget();
});
afterAll(async () => {
  for (const p of pods) rmSync(p.root, { recursive: true, force: true });
  await target.stop();
});

function newPod(): { dirs: PodDirs; projectDir: string } {
  const dirs = podDirs();
  pods.push(dirs);
  const projectDir = path.join(dirs.buildsDir, 'group/app');
  mkdirSync(projectDir, { recursive: true });
  return { dirs, projectDir };
}

function job(
  extra: Partial<Parameters<typeof makeJob>[0]> = {},
): JobPayloadInput & { id: number; token: string } {
  const id = nextId++;
  const token = target.newJobToken(id);
  const variables = { GIT_STRATEGY: 'none', ...(extra.variables ?? {}) };
  return makeJob({
    id,
    token,
    serverUrl: target.url,
    project: 'group/app',
    sha: 'f'.repeat(40),
    ...extra,
    variables,
  }) as JobPayloadInput & {
    id: number;
    token: string;
  };
}

async function makeZip(entries: { name: string; data: string }[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(Buffer.from(e.data), e.name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path.join(root, r));
      out.push(
        `${r} ${st.isSymbolicLink() ? `-> ${readlinkSync(path.join(root, r))}` : (st.mode & 0o7777).toString(8)}`,
      );
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

describe('artifacts', () => {
  it('round trip: job A uploads globbed files minus excludes; job B downloads them with the same bytes, modes and symlinks', async () => {
    const a = newPod();
    const jobA = job({
      artifacts: [
        {
          name: 'build-$CI_JOB_ID',
          untracked: false,
          paths: ['dist/', 'docs/*.md'],
          exclude: ['dist/**/*.map'],
          when: 'on_success',
          expire_in: '1 week',
          artifact_type: 'archive',
          artifact_format: 'zip',
        },
      ],
    });
    const w = (rel: string, content: string | Buffer, mode = 0o644) => {
      const full = path.join(a.projectDir, rel);
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, content);
      chmodSync(full, mode);
    };
    const binary = randomBytes(100_000);
    w('dist/app.js', 'console.log(1)\n');
    w('dist/app.js.map', '{}');
    w('dist/lib/deep.js.map', '{}');
    w('dist/bin/tool', binary, 0o755);
    w('dist/readonly.txt', 'ro\n', 0o444);
    symlinkSync('app.js', path.join(a.projectDir, 'dist/link.js'));
    mkdirSync(path.join(a.projectDir, 'dist/empty'));
    w('docs/guide.md', '# guide\n');
    w('docs/skip.txt', 'no\n');
    w('logs/x.log', 'no\n');
    finishedBuild(a.dirs.statusDir, 0);
    const up = await runHelper(
      'upload',
      a.dirs,
      jobA,
      helperSettings(a.dirs, { serverUrl: target.url, projectDir: a.projectDir }),
      {
        watch: jobA.token,
      },
    );
    expect(up.code, up.output).toBe(0);
    expect(up.termination).toEqual({ ok: true, uploaded: 1 });
    expect(up.output).toMatch(
      /section_start:\d+:upload_artifacts_on_success\r\x1b\[0K\x1b\[0K\x1b\[36;1mUploading artifacts for successful job/,
    );
    expect(up.output).toContain('\x1b[32;1mUploading artifacts...\x1b[0;m');
    expect(up.output).toMatch(/dist\/: found \d+ matching artifact files and directories/);
    expect(up.output).toMatch(/dist\/\*\*\/\*\.map: excluded 2 files/);
    expect(up.output).toMatch(/docs\/\*\.md: found 1 matching artifact files and directories/);
    // logrus' runner formatter: message, reset, then ` key<reset>=value` fields in key order.
    expect(up.output).toMatch(
      /Uploading artifacts as "archive" to coordinator\.\.\. 201 Created\s*\x1b\[0;m {2}id\x1b\[0;m=\d+ responseStatus\x1b\[0;m=201 Created token\x1b\[0;m=\w{9}\n/,
    );
    expect(up.output).not.toContain(jobA.token);
    expect(up.sightings).toEqual([]);
    const stored = target.uploadsFor(jobA.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      type: 'archive',
      format: 'zip',
      expireIn: '1 week',
      filename: `build-${jobA.id}.zip`,
    });

    const b = newPod();
    const jobB = job({
      dependencies: [
        {
          id: jobA.id,
          name: 'build',
          token: '',
          artifacts_file: { filename: 'artifacts.zip', size: stored[0]!.data.length },
        },
      ],
    });
    jobB.dependencies![0]!.token = jobB.token;
    const down = await runHelper(
      'prepare',
      b.dirs,
      jobB,
      helperSettings(b.dirs, { serverUrl: target.url, projectDir: b.projectDir }),
      {
        watch: jobB.token,
      },
    );
    expect(down.code, down.output).toBe(0);
    expect(down.output).toMatch(
      /section_start:\d+:download_artifacts\r\x1b\[0K\x1b\[0K\x1b\[36;1mDownloading artifacts/,
    );
    expect(down.output).toContain(`Downloading artifacts for build (${jobA.id})...`);
    expect(down.output).toMatch(/Downloading artifacts from coordinator\.\.\. ok/);
    expect(down.sightings).toEqual([]);
    // `docs/` itself was not archived (only docs/*.md matched): its parent directory is created 0777
    // under the helper's umask 0, as upstream's extractor does.
    const expected = listTree(a.projectDir)
      .filter((l) => !l.includes('.map') && !l.startsWith('logs') && !l.startsWith('docs/skip'))
      .map((l) => (l.startsWith('docs ') ? 'docs 777' : l));
    expect(listTree(b.projectDir)).toEqual(expected);
    expect(readFileSync(path.join(b.projectDir, 'dist/bin/tool')).equals(binary)).toBe(true);
    expect(readlinkSync(path.join(b.projectDir, 'dist/link.js'))).toBe('app.js');
  });

  it('uploads `when: on_failure` artifacts only when the script failed', async () => {
    for (const exit of [0, 1]) {
      const p = newPod();
      const j = job({
        artifacts: [
          {
            name: null,
            paths: ['out.txt'],
            when: 'on_failure',
            artifact_type: 'archive',
            artifact_format: 'zip',
            expire_in: null,
          },
        ],
      });
      writeFileSync(path.join(p.projectDir, 'out.txt'), 'failure details\n');
      finishedBuild(p.dirs.statusDir, exit);
      const run = await runHelper(
        'upload',
        p.dirs,
        j,
        helperSettings(p.dirs, { serverUrl: target.url, projectDir: p.projectDir }),
      );
      expect(run.code, run.output).toBe(0);
      if (exit === 0) {
        expect(target.uploadsFor(j.id)).toHaveLength(0);
        expect(run.output).not.toContain('upload_artifacts');
      } else {
        expect(run.output).toMatch(/section_start:\d+:upload_artifacts_on_failure/);
        expect(target.uploadsFor(j.id).map((u) => u.filename)).toEqual(['artifacts.zip']);
      }
    }
  });

  it('waits for the build to end and treats a build killed without build.exit (OOM) as a failure', async () => {
    const p = newPod();
    const j = job({
      artifacts: [
        {
          name: 'on-fail',
          paths: ['crash.log'],
          when: 'on_failure',
          artifact_type: 'archive',
          artifact_format: 'zip',
        },
        {
          name: 'on-success',
          paths: ['crash.log'],
          when: 'on_success',
          artifact_type: 'archive',
          artifact_format: 'zip',
        },
      ],
    });
    execFileSync('mkfifo', [path.join(p.dirs.statusDir, 'build.alive')]);
    const build = await startBuild(p.dirs.statusDir);
    let uploaderPid = 0;
    const running = runHelper(
      'upload',
      p.dirs,
      j,
      helperSettings(p.dirs, { serverUrl: target.url, projectDir: p.projectDir }),
      {
        onSpawn: (pid) => {
          uploaderPid = pid;
        },
      },
    );
    await new Promise((r) => setTimeout(r, 700));
    // A cancel's SIGTERM does not stop the uploader: it keeps waiting for the build.
    process.kill(uploaderPid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    expect(target.uploadsFor(j.id)).toHaveLength(0);
    writeFileSync(path.join(p.projectDir, 'crash.log'), 'killed\n');
    await build.kill();
    const run = await running;
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/section_start:\d+:upload_artifacts_on_failure/);
    expect(target.uploadsFor(j.id).map((u) => u.filename)).toEqual(['on-fail.zip']);
  });

  it('uploads reports with their artifact_type and artifact_format (gzip members named after the file, raw as is)', async () => {
    const p = newPod();
    const j = job({
      artifacts: [
        {
          name: 'junit.xml',
          paths: ['reports/*.xml'],
          when: 'always',
          artifact_type: 'junit',
          artifact_format: 'gzip',
          expire_in: null,
        },
        {
          name: 'gl-code-quality-report.json',
          paths: ['quality.json'],
          when: 'always',
          artifact_type: 'codequality',
          artifact_format: 'raw',
          expire_in: '2 days',
        },
      ],
    });
    mkdirSync(path.join(p.projectDir, 'reports'));
    writeFileSync(path.join(p.projectDir, 'reports/a.xml'), '<testsuite name="a"/>\n');
    writeFileSync(path.join(p.projectDir, 'reports/b.xml'), '<testsuite name="b"/>\n');
    writeFileSync(path.join(p.projectDir, 'quality.json'), '[]\n');
    finishedBuild(p.dirs.statusDir, 1);
    const run = await runHelper(
      'upload',
      p.dirs,
      j,
      helperSettings(p.dirs, { serverUrl: target.url, projectDir: p.projectDir }),
    );
    expect(run.code, run.output).toBe(0);
    const stored = target.uploadsFor(j.id);
    expect(stored.map((s) => [s.type, s.format, s.filename, s.expireIn])).toEqual([
      ['junit', 'gzip', 'junit.xml.gz', undefined],
      ['codequality', 'raw', 'gl-code-quality-report.json', '2 days'],
    ]);
    expect(gunzipSync(stored[0]!.data).toString()).toBe('<testsuite name="a"/>\n<testsuite name="b"/>\n');
    // The first member's header carries its file name (FNAME), as upstream's gzip archiver writes it.
    const header = stored[0]!.data;
    expect(header[3]! & 0x08).toBe(0x08);
    expect(header.subarray(10, 10 + 'reports/a.xml'.length).toString()).toBe('reports/a.xml');
    expect(stored[1]!.data.toString()).toBe('[]\n');
    expect(run.output).toContain('Uploading artifacts as "junit" to coordinator... 201 Created');
  });

  it('fails the job with a clear message on 413 and stores nothing', async () => {
    const p = newPod();
    const j = job({
      artifacts: [
        {
          name: 'big',
          paths: ['big.bin'],
          when: 'on_success',
          artifact_type: 'archive',
          artifact_format: 'zip',
        },
      ],
    });
    writeFileSync(path.join(p.projectDir, 'big.bin'), randomBytes(50_000));
    finishedBuild(p.dirs.statusDir, 0);
    target.setFaults({ maxArtifactBytes: 10_000 });
    try {
      const run = await runHelper(
        'upload',
        p.dirs,
        j,
        helperSettings(p.dirs, { serverUrl: target.url, projectDir: p.projectDir }),
      );
      expect(run.code).toBe(1);
      expect(run.output).toMatch(
        /ERROR: Uploading artifacts as "archive" to coordinator\.\.\. 413 Request Entity Too Large/,
      );
      expect(run.output).toMatch(
        /FATAL: too large: the artifacts archive "big.zip" is larger than GitLab accepts/,
      );
      expect(String(run.termination?.error)).toMatch(/^too large: .*Maximum artifacts size/);
      expect(run.termination?.ok).toBe(false);
      expect(target.uploadsFor(j.id)).toHaveLength(0);
    } finally {
      target.setFaults({});
    }
  });

  it('retries an upload whose connection drops, and fails clearly when every try drops', async () => {
    const payload = randomBytes(300_000);
    for (const drops of [1, 3]) {
      const p = newPod();
      const j = job({
        artifacts: [
          {
            name: 'data',
            paths: ['data.bin'],
            when: 'on_success',
            artifact_type: 'archive',
            artifact_format: 'zip',
          },
        ],
      });
      writeFileSync(path.join(p.projectDir, 'data.bin'), payload);
      finishedBuild(p.dirs.statusDir, 0);
      target.setFaults({ dropUploadAfterBytes: { bytes: 64 * 1024, times: drops } });
      try {
        const run = await runHelper(
          'upload',
          p.dirs,
          j,
          helperSettings(p.dirs, { serverUrl: target.url, projectDir: p.projectDir }),
        );
        if (drops === 1) {
          expect(run.code, run.output).toBe(0);
          expect(run.output).toMatch(/WARNING: Retrying\.\.\./);
          expect(target.uploadsFor(j.id)).toHaveLength(1);
          // The retried archive is complete: the next job extracts the same bytes.
          const b = newPod();
          const jb = job({
            dependencies: [
              { id: j.id, name: 'data', token: '', artifacts_file: { filename: 'artifacts.zip', size: 1 } },
            ],
          });
          jb.dependencies![0]!.token = jb.token;
          const down = await runHelper(
            'prepare',
            b.dirs,
            jb,
            helperSettings(b.dirs, { serverUrl: target.url, projectDir: b.projectDir }),
          );
          expect(down.code, down.output).toBe(0);
          expect(readFileSync(path.join(b.projectDir, 'data.bin')).equals(payload)).toBe(true);
        } else {
          expect(run.code).toBe(1);
          expect(String(run.termination?.error)).toMatch(
            /uploading artifacts failed after 3 tries: the connection failed during the upload/,
          );
          expect(target.uploadsFor(j.id)).toHaveLength(0);
        }
      } finally {
        target.setFaults({});
      }
    }
  });

  it('refuses a corrupt dependency archive before writing anything', async () => {
    const p = newPod();
    const good = await makeZip([{ name: 'ok.txt', data: 'ok' }]);
    const corrupt = Buffer.from(good);
    corrupt.fill(0x42, 30, 40); // damage the first entry's data and header
    const producer = nextId++;
    target.setArchive(producer, corrupt.subarray(0, corrupt.length - 10));
    const j = job({
      dependencies: [
        { id: producer, name: 'producer', token: '', artifacts_file: { filename: 'artifacts.zip', size: 1 } },
      ],
    });
    j.dependencies![0]!.token = j.token;
    const run = await runHelper(
      'prepare',
      p.dirs,
      j,
      helperSettings(p.dirs, { serverUrl: target.url, projectDir: p.projectDir }),
    );
    expect(run.code).toBe(1);
    expect(run.termination).toMatchObject({
      ok: false,
      stage: 'download_artifacts',
      failure_reason: 'script_failure',
    });
    expect(String(run.termination?.error)).toMatch(
      /the artifacts of producer \(\d+\) cannot be used: corrupt zip archive/,
    );
    expect(run.output).toMatch(/FATAL: corrupt zip archive/);
    expect(readdirSync(p.projectDir)).toEqual([]);
    expect(existsSync(path.join(p.dirs.statusDir, 'build.alive'))).toBe(false);
  });

  it('refuses an archive with a path-escaping entry (../x) and writes nothing', async () => {
    const p = newPod();
    const zip = await makeZip([
      { name: 'ok.txt', data: 'fine' },
      { name: 'aa/x', data: 'evil' },
    ]);
    // yazl refuses to write "../x", so rename the entry in place (same length) in both headers.
    const hostile = Buffer.from(zip.toString('latin1').replaceAll('aa/x', '../x'), 'latin1');
    const producer = nextId++;
    target.setArchive(producer, hostile);
    const j = job({
      dependencies: [
        { id: producer, name: 'hostile', token: '', artifacts_file: { filename: 'artifacts.zip', size: 1 } },
      ],
    });
    j.dependencies![0]!.token = j.token;
    const run = await runHelper(
      'prepare',
      p.dirs,
      j,
      helperSettings(p.dirs, { serverUrl: target.url, projectDir: p.projectDir }),
    );
    expect(run.code).toBe(1);
    expect(String(run.termination?.error)).toMatch(/archive entry "\.\.\/x" escapes the target directory/);
    expect(readdirSync(p.projectDir)).toEqual([]);
    expect(existsSync(path.join(path.dirname(p.projectDir), 'x'))).toBe(false);
  });
});
