// Artifacts through the real helper program in real pipelines of the embedded GitLab: a job uploads
// after its build (when, globs, excludes, reports, 413, a connection cut mid-upload), and a job of a
// later stage gets them from GitLab as a dependency (and refuses corrupt and hostile archives).
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
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import type { JobPod } from './support/pod.ts';
import { type HelperTarget, startTarget, type TargetProject } from './support/target.ts';

let target: HelperTarget;
const pods: JobPod[] = [];
let projects = 0;

beforeAll(async () => {
  target = await startTarget();
});
afterEach(() => {
  target.gitlab.setFaults([]);
  target.gitlab.configure({ artifactMaxBytes: 100 * 1024 * 1024, objectStorage: false });
});
afterAll(async () => {
  for (const p of pods) rmSync(p.dirs.root, { recursive: true, force: true });
  await target.stop();
});

async function project(yaml: string, files: Record<string, string> = {}): Promise<TargetProject> {
  projects += 1;
  return await target.project(`group/app${projects}`, { '.gitlab-ci.yml': yaml, ...files });
}

async function next(p: TargetProject, name: string): Promise<JobPod> {
  const pod = await p.next(name);
  pods.push(pod);
  return pod;
}

/** A job that does not clone, so the project dir holds only what the helper and the build put there. */
const NO_GIT = 'variables: { GIT_STRATEGY: none }\n';

/** A producer and a consumer that runs even when the producer failed. */
const PRODUCER_CONSUMER = `${NO_GIT}stages: [build, test]
build:
  stage: build
  script: [make]
  artifacts: { name: data, paths: [data.bin] }
test:
  stage: test
  script: [check]
  when: always
  dependencies: [build]
`;

async function makeZip(entries: { name: string; data: string }[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(Buffer.from(e.data), e.name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function listTree(root: string, under: string): string[] {
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
  out.push(`${under} ${(lstatSync(path.join(root, under)).mode & 0o7777).toString(8)}`);
  walk(under);
  return out;
}

const days = (n: number) => n * 24 * 3600 * 1000;

describe('artifacts', () => {
  it('round trip: job A uploads globbed files minus excludes; job B gets them from GitLab with the same bytes, modes and symlinks', async () => {
    const app = await project(
      `stages: [build, test]
build:
  stage: build
  script: [make]
  artifacts:
    name: build-$CI_JOB_ID
    paths: [dist/, docs/*.md]
    exclude: ["dist/**/*.map"]
    expire_in: 1 week
test:
  stage: test
  script: [check]
  dependencies: [build]
`,
      { 'README.md': 'the repository\n' },
    );
    const pipeline = await app.pipeline();
    const a = await next(app, 'build');
    expect(a.job.payload.artifacts).toEqual([
      expect.objectContaining({
        name: 'build-$CI_JOB_ID',
        paths: ['dist/', 'docs/*.md'],
        exclude: ['dist/**/*.map'],
        when: 'on_success',
        artifact_type: 'archive',
        artifact_format: 'zip',
        expire_in: '1 week',
      }),
    ]);
    expect((await a.prepare()).code).toBe(0);
    const binary = randomBytes(100_000);
    const up = await a.build(
      (dir) => {
        const w = (rel: string, content: string | Buffer, mode = 0o644) => {
          const full = path.join(dir, rel);
          mkdirSync(path.dirname(full), { recursive: true });
          writeFileSync(full, content);
          chmodSync(full, mode);
        };
        w('dist/app.js', 'console.log(1)\n');
        w('dist/app.js.map', '{}');
        w('dist/lib/deep.js.map', '{}');
        w('dist/bin/tool', binary, 0o755);
        w('dist/readonly.txt', 'ro\n', 0o444);
        symlinkSync('app.js', path.join(dir, 'dist/link.js'));
        mkdirSync(path.join(dir, 'dist/empty'));
        w('docs/guide.md', '# guide\n');
        w('docs/skip.txt', 'no\n');
        w('logs/x.log', 'no\n');
      },
      0,
      { watch: a.job.token },
    );
    expect(up?.code, up?.output).toBe(0);
    expect(up?.termination).toEqual({ ok: true, uploaded: 1 });
    expect(up?.output).toMatch(
      /section_start:\d+:upload_artifacts_on_success\r\x1b\[0K\x1b\[0K\x1b\[36;1mUploading artifacts for successful job/,
    );
    expect(up?.output).toContain('\x1b[32;1mUploading artifacts...\x1b[0;m');
    expect(up?.output).toMatch(/dist\/: found \d+ matching artifact files and directories/);
    expect(up?.output).toMatch(/dist\/\*\*\/\*\.map: excluded 2 files/);
    expect(up?.output).toMatch(/docs\/\*\.md: found 1 matching artifact files and directories/);
    // logrus' runner formatter: message, reset, then ` key<reset>=value` fields in key order.
    expect(up?.output).toMatch(
      /Uploading artifacts as "archive" to coordinator\.\.\. 201 Created\s*\x1b\[0;m {2}id\x1b\[0;m=\d+ responseStatus\x1b\[0;m=201 Created token\x1b\[0;m=\w{9}\n/,
    );
    expect(up?.output).not.toContain(a.job.token);
    expect(up?.sightings).toEqual([]);
    const stored = target.artifacts(a.job.id);
    expect(stored.map((s) => [s.type, s.format, s.filename])).toEqual([
      ['archive', 'zip', `build-${a.job.id}.zip`],
    ]);
    const expireIn = Date.parse(stored[0]?.expireAt ?? '') - Date.now();
    expect(expireIn).toBeGreaterThan(days(7) - 60_000);
    expect(expireIn).toBeLessThanOrEqual(days(7));
    expect(await a.finish(app.runner)).toBe('success');

    // GitLab hands job B the archive as a dependency, with B's own token; the archive lives in object
    // storage, so the download is redirected there (and the job token must stay with GitLab).
    target.gitlab.configure({ objectStorage: true });
    const objectRequests = target.gitlab.objectStorage.requests.length;
    const b = await next(app, 'test');
    expect(b.job.payload.dependencies).toEqual([
      {
        id: a.job.id,
        name: 'build',
        token: b.job.token,
        artifacts_file: { filename: `build-${a.job.id}.zip`, size: stored[0]?.data.length },
      },
    ]);
    const down = await b.prepare({ watch: b.job.token });
    expect(down.code, down.output).toBe(0);
    expect(down.output).toMatch(
      /section_start:\d+:download_artifacts\r\x1b\[0K\x1b\[0K\x1b\[36;1mDownloading artifacts/,
    );
    expect(down.output).toContain(`Downloading artifacts for build (${a.job.id})...`);
    expect(down.output).toMatch(/Downloading artifacts from coordinator\.\.\. ok/);
    const objectHost = new URL(target.gitlab.objectStorage.url).host;
    expect(down.output).toContain(`host\x1b[0;m=${objectHost}`);
    const fetched = target.gitlab.objectStorage.requests.slice(objectRequests);
    expect(fetched.map((r) => [r.method, r.status])).toEqual([['GET', 200]]);
    expect(fetched[0]?.headers).not.toContain('job-token');
    expect(down.output).not.toContain(b.job.token);
    expect(down.sightings).toEqual([]);
    expect(listTree(b.projectDir, 'dist')).toEqual(
      listTree(a.projectDir, 'dist').filter((l) => !l.includes('.map')),
    );
    // `docs/` itself was not archived (only docs/*.md matched): its parent directory is created 0777
    // under the helper's umask 0, as upstream's extractor does.
    expect(listTree(b.projectDir, 'docs')).toEqual(['docs 777', 'docs/guide.md 644']);
    expect(existsSync(path.join(b.projectDir, 'logs'))).toBe(false);
    expect(readFileSync(path.join(b.projectDir, 'dist/bin/tool')).equals(binary)).toBe(true);
    expect(readlinkSync(path.join(b.projectDir, 'dist/link.js'))).toBe('app.js');
    // B also has the repository: the clone and the artifacts live side by side.
    expect(readFileSync(path.join(b.projectDir, 'README.md'), 'utf8')).toBe('the repository\n');
    await b.build(() => {}, 0);
    expect(await b.finish(app.runner)).toBe('success');
    expect(target.gitlab.pipeline(pipeline.id)?.status).toBe('success');
  });

  it('uploads `when: on_failure` artifacts only when the script failed', async () => {
    const app = await project(
      `${NO_GIT}build: { script: [make], artifacts: { paths: [out.txt], when: on_failure } }\n`,
    );
    for (const exit of [0, 1]) {
      await app.pipeline();
      const pod = await next(app, 'build');
      expect((await pod.prepare()).code).toBe(0);
      const run = await pod.build(
        (dir) => writeFileSync(path.join(dir, 'out.txt'), 'failure details\n'),
        exit,
      );
      expect(run?.code, run?.output).toBe(0);
      if (exit === 0) {
        expect(target.artifacts(pod.job.id)).toHaveLength(0);
        expect(run?.output).not.toContain('upload_artifacts');
        expect(await pod.finish(app.runner)).toBe('success');
      } else {
        expect(run?.output).toMatch(/section_start:\d+:upload_artifacts_on_failure/);
        expect(target.artifacts(pod.job.id).map((u) => u.filename)).toEqual(['artifacts.zip']);
        expect(await pod.finish(app.runner)).toBe('failed');
        expect(target.gitlab.job(pod.job.id)).toMatchObject({ exitCode: 1, failureReason: 'script_failure' });
      }
    }
  });

  it('waits for the build to end, ignores a SIGTERM meanwhile, and treats a build killed without build.exit (OOM) as a failure', async () => {
    const app = await project(
      `${NO_GIT}build: { script: [make], artifacts: { name: on-fail, paths: [crash.log], when: on_failure } }\n`,
    );
    await app.pipeline();
    const pod = await next(app, 'build');
    expect((await pod.prepare()).code).toBe(0);
    let uploaderPid = 0;
    const run = await pod.build(
      async (dir) => {
        // Once the uploader watches the build, a cancel's SIGTERM must not stop it.
        await until(() => holdsOpen(uploaderPid, path.join(pod.dirs.statusDir, 'build.alive')));
        process.kill(uploaderPid, 'SIGTERM');
        // Give a SIGTERM that wrongly ended the uploader the time to do so.
        await new Promise((r) => setTimeout(r, 300));
        expect(target.artifacts(pod.job.id)).toHaveLength(0);
        writeFileSync(path.join(dir, 'crash.log'), 'killed\n');
      },
      'killed',
      {
        onUploader: (pid) => {
          uploaderPid = pid;
        },
      },
    );
    expect(run?.code, run?.output).toBe(0);
    expect(run?.output).toMatch(/section_start:\d+:upload_artifacts_on_failure/);
    expect(target.artifacts(pod.job.id).map((u) => u.filename)).toEqual(['on-fail.zip']);
    expect(await pod.finish(app.runner)).toBe('failed');
  });

  it('uploads reports with their artifact_type and artifact_format (gzip members named after the file, raw as is)', async () => {
    const app = await project(
      `${NO_GIT}build:
  script: [make]
  artifacts:
    expire_in: 2 days
    reports: { junit: "reports/*.xml", codequality: quality.json }
`,
    );
    await app.pipeline();
    const pod = await next(app, 'build');
    expect(pod.job.payload.artifacts.map((a) => [a.artifact_type, a.artifact_format, a.when])).toEqual([
      ['junit', 'gzip', 'always'],
      ['codequality', 'raw', 'always'],
    ]);
    expect((await pod.prepare()).code).toBe(0);
    const run = await pod.build((dir) => {
      mkdirSync(path.join(dir, 'reports'));
      writeFileSync(path.join(dir, 'reports/a.xml'), '<testsuite name="a"/>\n');
      writeFileSync(path.join(dir, 'reports/b.xml'), '<testsuite name="b"/>\n');
      writeFileSync(path.join(dir, 'quality.json'), '[]\n');
    }, 1);
    expect(run?.code, run?.output).toBe(0);
    const stored = target.artifacts(pod.job.id);
    expect(stored.map((s) => [s.type, s.format, s.filename])).toEqual([
      ['junit', 'gzip', 'junit.xml.gz'],
      ['codequality', 'raw', 'gl-code-quality-report.json'],
    ]);
    for (const s of stored) {
      expect(Date.parse(s.expireAt ?? '') - Date.now()).toBeGreaterThan(days(2) - 60_000);
    }
    expect(gunzipSync(stored[0]?.data ?? Buffer.alloc(0)).toString()).toBe(
      '<testsuite name="a"/>\n<testsuite name="b"/>\n',
    );
    // The first member's header carries its file name (FNAME), as upstream's gzip archiver writes it.
    const header = stored[0]?.data ?? Buffer.alloc(0);
    expect((header[3] ?? 0) & 0x08).toBe(0x08);
    expect(header.subarray(10, 10 + 'reports/a.xml'.length).toString()).toBe('reports/a.xml');
    expect(stored[1]?.data.toString()).toBe('[]\n');
    expect(run?.output).toContain('Uploading artifacts as "junit" to coordinator... 201 Created');
    expect(await pod.finish(app.runner)).toBe('failed');
  });

  it('fails the job with a clear message on 413; GitLab stores nothing and the next job gets nothing', async () => {
    const app = await project(PRODUCER_CONSUMER);
    await app.pipeline();
    const pod = await next(app, 'build');
    expect((await pod.prepare()).code).toBe(0);
    target.gitlab.configure({ artifactMaxBytes: 10_000 });
    const run = await pod.build((dir) => writeFileSync(path.join(dir, 'data.bin'), randomBytes(50_000)), 0);
    expect(run?.code).toBe(1);
    expect(run?.output).toMatch(
      /ERROR: Uploading artifacts as "archive" to coordinator\.\.\. 413 Request Entity Too Large/,
    );
    expect(run?.output).toMatch(
      /FATAL: too large: the artifacts archive "data.zip" is larger than GitLab accepts/,
    );
    expect(String(run?.termination?.error)).toMatch(/^too large: .*Maximum artifacts size/);
    expect(run?.termination?.ok).toBe(false);
    expect(target.artifacts(pod.job.id)).toEqual([]);
    expect(await pod.finish(app.runner)).toBe('failed');
    await expectNothingPassedOn(app, pod);
  });

  it('retries an upload whose connection is cut mid-upload, and fails clearly when every try is cut', async () => {
    const payload = randomBytes(300_000);
    const app = await project(PRODUCER_CONSUMER);
    for (const cuts of [1, 3]) {
      await app.pipeline();
      const pod = await next(app, 'build');
      expect((await pod.prepare()).code).toBe(0);
      target.gitlab.setFaults([
        { endpoint: 'artifacts_upload', kind: 'drop', afterBytes: 64 * 1024, times: cuts },
      ]);
      const run = await pod.build((dir) => writeFileSync(path.join(dir, 'data.bin'), payload), 0);
      target.gitlab.setFaults([]);
      if (cuts === 1) {
        expect(run?.code, run?.output).toBe(0);
        expect(run?.output).toMatch(/WARNING: Retrying\.\.\./);
        expect(target.artifacts(pod.job.id)).toHaveLength(1);
        expect(await pod.finish(app.runner)).toBe('success');
        // The retried archive is complete: the next job extracts the same bytes.
        const consumer = await next(app, 'test');
        const down = await consumer.prepare();
        expect(down.code, down.output).toBe(0);
        expect(readFileSync(path.join(consumer.projectDir, 'data.bin')).equals(payload)).toBe(true);
        await consumer.build(() => {}, 0);
        expect(await consumer.finish(app.runner)).toBe('success');
      } else {
        expect(run?.code).toBe(1);
        expect(String(run?.termination?.error)).toMatch(
          /uploading artifacts failed after 3 tries: the connection failed during the upload/,
        );
        expect(target.artifacts(pod.job.id)).toEqual([]);
        expect(await pod.finish(app.runner)).toBe('failed');
        await expectNothingPassedOn(app, pod);
      }
    }
  });

  it('refuses a corrupt dependency archive before writing anything, and runs no build', async () => {
    const good = await makeZip([{ name: 'ok.txt', data: 'ok' }]);
    const corrupt = Buffer.from(good);
    corrupt.fill(0x42, 30, 40); // damage the first entry's data and header
    const run = await consumeArchive(corrupt.subarray(0, corrupt.length - 10));
    expect(run.termination).toMatchObject({
      ok: false,
      stage: 'download_artifacts',
      failure_reason: 'script_failure',
    });
    expect(String(run.termination?.error)).toMatch(
      /the artifacts of build \(\d+\) cannot be used: corrupt zip archive/,
    );
    expect(run.output).toMatch(/FATAL: corrupt zip archive/);
  });

  it('refuses an archive with a path-escaping entry (../x) and writes nothing', async () => {
    const zip = await makeZip([
      { name: 'ok.txt', data: 'fine' },
      { name: 'aa/x', data: 'evil' },
    ]);
    // yazl refuses to write "../x", so rename the entry in place (same length) in both headers.
    const hostile = Buffer.from(zip.toString('latin1').replaceAll('aa/x', '../x'), 'latin1');
    const run = await consumeArchive(hostile);
    expect(String(run.termination?.error)).toMatch(/archive entry "\.\.\/x" escapes the target directory/);
  });
});

/** A build job whose runner stores `archive` as its artifacts; the next job must refuse it. */
async function consumeArchive(archive: Buffer) {
  const app = await project(`${NO_GIT}stages: [build, test]
build: { stage: build, script: [make], artifacts: { paths: [x] } }
test: { stage: test, script: [check], dependencies: [build] }
`);
  const pipeline = await app.pipeline();
  const producer = await app.runner.next('build');
  expect(await app.runner.uploadArtifact(producer, archive)).toBe(201);
  await app.runner.finish(producer, { state: 'success', trace: 'uploaded by hand\n' });
  const pod = await next(app, 'test');
  expect(pod.job.payload.dependencies[0]?.artifacts_file?.size).toBe(archive.length);
  const run = await pod.prepare();
  expect(run.code, run.output).toBe(1);
  expect(run.termination?.ok).toBe(false);
  // Nothing of it in the project dir, nothing next to it, and no build.alive: the build never starts.
  expect(readdirSync(pod.projectDir)).toEqual([]);
  expect(readdirSync(path.dirname(pod.projectDir))).toEqual([path.basename(pod.projectDir)]);
  expect(existsSync(path.join(pod.dirs.statusDir, 'build.alive'))).toBe(false);
  expect(await pod.finish(app.runner)).toBe('failed');
  expect(target.gitlab.pipeline(pipeline.id)?.status).toBe('failed');
  return run;
}

/** The consumer of a producer whose upload failed: no archive in its payload, nothing in its dir. */
async function expectNothingPassedOn(app: TargetProject, producer: JobPod): Promise<void> {
  const consumer = await next(app, 'test');
  expect(consumer.job.payload.dependencies).toEqual([
    { id: producer.job.id, name: 'build', token: consumer.job.token },
  ]);
  const run = await consumer.prepare();
  expect(run.code, run.output).toBe(0);
  expect(run.output).not.toContain('Downloading artifacts');
  expect(readdirSync(consumer.projectDir)).toEqual([]);
  await consumer.build(() => {}, 0);
  expect(await consumer.finish(app.runner)).toBe('success');
}

/** Whether process `pid` has `file` open (the uploader watching `build.alive`). */
function holdsOpen(pid: number, file: string): boolean {
  if (pid === 0) return false;
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 20));
  }
}
