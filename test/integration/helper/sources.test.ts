// get_sources with real pipelines of the embedded GitLab and the real git binary: the job payload,
// its refspecs and its token come from GitLab, the helper program runs as the init container would,
// and every job is reported back to GitLab.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseJobPayload } from '../../../src/gitlab/payload.ts';
import { JobPod } from './support/pod.ts';
import { testGit } from './support/repos.ts';
import type { RunnerJob } from './support/runner.ts';
import { type HelperTarget, startTarget } from './support/target.ts';

let target: HelperTarget;
const pods: JobPod[] = [];

beforeAll(async () => {
  target = await startTarget();
});
afterEach(() => {
  target.gitlab.setFaults([]);
});
afterAll(async () => {
  for (const p of pods) rmSync(p.dirs.root, { recursive: true, force: true });
  await target.stop();
});

function keep(pod: JobPod): JobPod {
  pods.push(pod);
  return pod;
}

const SECTION_START =
  /section_start:\d+:get_sources\r\x1b\[0K\x1b\[0K\x1b\[36;1mGetting source from Git repository\x1b\[0;m/;

describe('get_sources', () => {
  it('clones at depth 1, then fetches a newer commit on a second run, both checking out the job SHA', async () => {
    const app = await target.project('group/app', {
      '.gitlab-ci.yml': 'variables: { GIT_DEPTH: "1" }\nbuild: { script: [make] }\n',
      'README.md': 'one\n',
      'bin/run.sh': { content: '#!/bin/sh\necho hi\n', executable: true },
    });
    const first = await app.pipeline({ GIT_STRATEGY: 'clone' });
    const pod = keep(await app.next('build'));
    const token = pod.job.token;
    expect(pod.job.payload.git_info.depth).toBe(1);
    expect(pod.job.payload.git_info.sha).toBe(first.sha);
    expect(pod.projectDir).toBe(path.join(pod.dirs.buildsDir, 'group/app'));
    const run1 = await pod.prepare({ watch: token });

    expect(run1.code, run1.output).toBe(0);
    expect(run1.termination).toEqual({ ok: true });
    expect(run1.output).toMatch(SECTION_START);
    expect(run1.output).toContain('\x1b[32;1mFetching changes with git depth set to 1...\x1b[0;m');
    expect(run1.output).toContain('\x1b[32;1mCreated fresh repository.\x1b[0;m');
    expect(run1.output).toContain(`Checking out ${first.sha.slice(0, 8)} as detached HEAD (ref is main)...`);
    expect(run1.output).toContain('Skipping Git submodules setup');
    expect(run1.output).toMatch(/section_end:\d+:get_sources\r\x1b\[0K/);
    expect(testGit(pod.projectDir, 'rev-parse', 'HEAD')).toBe(first.sha);
    expect(testGit(pod.projectDir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('HEAD'); // detached
    expect(existsSync(path.join(pod.projectDir, '.git/shallow'))).toBe(true);
    expect(statSync(path.join(pod.projectDir, 'bin/run.sh')).mode & 0o111).not.toBe(0);
    // The token never showed: not in the log, not in any process's argv or environment.
    expect(run1.output).not.toContain(token);
    expect(run1.sightings).toEqual([]);
    expect(readFileSync(path.join(pod.projectDir, '.git/config'), 'utf8')).not.toContain(token);
    expect(statSync(path.join(pod.dirs.statusDir, 'build.alive')).isFIFO()).toBe(true);
    await pod.build(() => {}, 0);
    expect(await pod.finish(app.runner)).toBe('success');
    expect(target.gitlab.job(pod.job.id)?.status).toBe('success');
    expect(target.gitlab.trace(pod.job.id)).toContain('Created fresh repository.');

    // A new commit, a new pipeline, the same builds dir: fetch into the existing repository.
    await app.commit({ 'README.md': 'two\n' });
    const second = await app.pipeline({ GIT_STRATEGY: 'fetch' });
    expect(second.sha).not.toBe(first.sha);
    const pod2 = await app.next('build', { dirs: pod.dirs });
    const run2 = await pod2.prepare({ watch: pod2.job.token });
    expect(run2.code, run2.output).toBe(0);
    expect(run2.output).toContain('Fetching changes with git depth set to 1...');
    expect(run2.output).toContain('Reinitialized existing Git repository');
    expect(testGit(pod2.projectDir, 'rev-parse', 'HEAD')).toBe(second.sha);
    expect(readFileSync(path.join(pod2.projectDir, 'README.md'), 'utf8')).toBe('two\n');
    expect(run2.output).not.toContain(pod2.job.token);
    expect(run2.sightings).toEqual([]);
    await pod2.build(() => {}, 0);
    expect(await pod2.finish(app.runner)).toBe('success');
  });

  it('checks out submodules in other projects recursively with the job token', async () => {
    const leaf = await target.gitProject('group/leaf');
    const leafSha = await leaf.repo.commit({ 'leaf.txt': 'leaf\n' });
    const mid = await target.gitProject('group/mid');
    await mid.repo.commit({ 'mid.txt': 'mid\n' });
    const midSha = await mid.repo.addSubmodule('deps/leaf', leaf.repo, leafSha);
    const top = await target.gitProject('group/top');
    await top.repo.commit({
      '.gitlab-ci.yml': 'variables: { GIT_SUBMODULE_STRATEGY: recursive }\nbuild: { script: [make] }\n',
      'top.txt': 'top\n',
    });
    const topSha = await top.repo.addSubmodule('vendor/mid', mid.repo, midSha);
    // GitLab lets a job token into another project only when that project allows it.
    target.gitlab.allowJobTokenAccess(leaf.project.id, top.project.id);
    target.gitlab.allowJobTokenAccess(mid.project.id, top.project.id);

    const pipeline = await top.project.pipeline();
    expect(pipeline.sha).toBe(topSha);
    const pod = keep(await top.project.next('build'));
    const run = await pod.prepare({ watch: pod.job.token });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('Updating/initializing submodules recursively with git depth set to 20...');
    expect(run.output).toContain('Updated submodules');
    expect(readFileSync(path.join(pod.projectDir, 'vendor/mid/mid.txt'), 'utf8')).toBe('mid\n');
    expect(readFileSync(path.join(pod.projectDir, 'vendor/mid/deps/leaf/leaf.txt'), 'utf8')).toBe('leaf\n');
    expect(testGit(path.join(pod.projectDir, 'vendor/mid/deps/leaf'), 'rev-parse', 'HEAD')).toBe(leafSha);
    expect(run.output).not.toContain(pod.job.token);
    expect(run.sightings).toEqual([]);
    await pod.build(() => {}, 0);
    expect(await pod.finish(top.project.runner)).toBe('success');
  });

  it('fails clearly with a finished job’s token and with a made-up one, and never shows either', async () => {
    const app = await target.project('group/private', {
      '.gitlab-ci.yml': 'build: { script: [make] }\n',
      'a.txt': 'a\n',
    });
    const expectRefused = (run: Awaited<ReturnType<JobPod['prepare']>>, pod: JobPod, token: string) => {
      expect(run.code, run.output).toBe(1);
      expect(run.termination).toMatchObject({
        ok: false,
        stage: 'get_sources',
        failure_reason: 'script_failure',
      });
      expect(String(run.termination?.error)).toMatch(/refused the job token .*authentication failed/);
      expect(run.output).toMatch(/ERROR: the Git server refused the job token/);
      expect(run.output).not.toContain(token);
      expect(JSON.stringify(run.termination)).not.toContain(token);
      expect(run.sightings).toEqual([]);
      expect(existsSync(path.join(pod.dirs.statusDir, 'build.alive'))).toBe(false);
    };

    // A job that ran and finished: GitLab no longer accepts its token.
    await app.pipeline();
    const done = keep(await app.next('build'));
    expect((await done.prepare()).code).toBe(0);
    await done.build(() => {}, 0);
    expect(await done.finish(app.runner)).toBe('success');
    const stale = keep(new JobPod(done.job, target.url, app.runnerToken));
    expectRefused(await stale.prepare({ watch: done.job.token }), stale, done.job.token);

    // A running job's payload with a token GitLab never issued.
    await app.pipeline();
    const live = keep(await app.next('build'));
    const madeUp = `glcbt-64_${randomBytes(12).toString('hex')}`;
    const raw = live.job.raw.replaceAll(live.job.token, madeUp);
    const parsed = parseJobPayload(JSON.parse(raw));
    if (!parsed.ok) throw new Error(parsed.error);
    const forgedJob: RunnerJob = { ...live.job, raw, token: madeUp, payload: parsed.job };
    const forged = keep(new JobPod(forgedJob, target.url, app.runnerToken));
    const run = await forged.prepare({ watch: madeUp });
    expectRefused(run, forged, madeUp);
    expect(run.output).not.toContain(live.job.token);
    expect(await forged.finish(app.runner, live.job)).toBe('failed');
    expect(target.gitlab.job(live.job.id)).toMatchObject({
      status: 'failed',
      failureReason: 'script_failure',
    });
  });

  it('runs the pre/post get-sources hooks, honours GIT_CHECKOUT=false and GIT_CLEAN_FLAGS', async () => {
    const app = await target.project('group/hooks', {
      '.gitlab-ci.yml': [
        'build:',
        '  script: [make]',
        '  hooks: { pre_get_sources_script: [\'echo "pre from job in $PWD"\'] }',
        '',
      ].join('\n'),
      'tracked.txt': 'x\n',
    });
    await app.pipeline();
    const pod = keep(
      await app.next('build', {
        settings: {
          preGetSourcesScript: 'echo runner-pre',
          postGetSourcesScript: 'echo post > post-hook.txt',
        },
      }),
    );
    expect(pod.job.payload.hooks).toEqual([
      { name: 'pre_get_sources_script', script: ['echo "pre from job in $PWD"'] },
    ]);
    const run = await pod.prepare();
    expect(run.code, run.output).toBe(0);
    const pre = run.output.indexOf('\x1b[32;1m$ echo runner-pre\x1b[0;m');
    const jobPre = run.output.indexOf('pre from job in');
    const fetch = run.output.indexOf('Fetching changes');
    expect(pre).toBeGreaterThan(0);
    expect(jobPre).toBeGreaterThan(pre);
    expect(fetch).toBeGreaterThan(jobPre);
    expect(readFileSync(path.join(pod.projectDir, 'post-hook.txt'), 'utf8')).toBe('post\n');
    await pod.build(() => {}, 0);
    await pod.finish(app.runner);

    // A second job that keeps an untracked file (GIT_CLEAN_FLAGS=none) and skips the checkout.
    await app.pipeline({ GIT_CLEAN_FLAGS: 'none', GIT_CHECKOUT: 'false' });
    const pod2 = await app.next('build', { dirs: pod.dirs });
    const run2 = await pod2.prepare();
    expect(run2.code, run2.output).toBe(0);
    expect(run2.output).toContain('Skipping Git checkout');
    expect(existsSync(path.join(pod2.projectDir, 'post-hook.txt'))).toBe(true);
    await pod2.build(() => {}, 0);
    await pod2.finish(app.runner);
  });

  it('retries per GET_SOURCES_ATTEMPTS after clearing the worktree', async () => {
    const app = await target.project('group/flaky', {
      '.gitlab-ci.yml': 'variables: { GET_SOURCES_ATTEMPTS: "2" }\nbuild: { script: [make] }\n',
      'f.txt': 'f\n',
    });
    const pipeline = await app.pipeline();
    const pod = keep(await app.next('build'));
    target.gitlab.setFaults([{ endpoint: 'git', kind: '500', times: 1 }]);
    const run = await pod.prepare();
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/section_start:\d+:clear_worktree/);
    expect(run.output.match(/section_start:\d+:get_sources/g)).toHaveLength(2);
    expect(testGit(pod.projectDir, 'rev-parse', 'HEAD')).toBe(pipeline.sha);
    await pod.build(() => {}, 0);
    await pod.finish(app.runner);
  });

  it('creates only the directory for GIT_STRATEGY=none and an empty one for GIT_STRATEGY=empty', async () => {
    const app = await target.project('group/none', {
      '.gitlab-ci.yml': 'build: { script: [make], variables: { GIT_STRATEGY: none } }\n',
    });
    await app.pipeline();
    const pod = keep(await app.next('build'));
    // Git is unreachable: the helper must not need it.
    target.gitlab.setFaults([{ endpoint: 'git', kind: 'drop', rate: 1 }]);
    const run = await pod.prepare();
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('Skipping Git repository setup');
    expect(readdirSync(pod.projectDir)).toEqual([]);
    await pod.build(() => {}, 0);
    await pod.finish(app.runner);

    await app.pipeline({ GIT_STRATEGY: 'empty' });
    const empty = await app.next('build', { dirs: pod.dirs });
    expect(empty.projectDir).toBe(`${pod.projectDir}-empty`);
    mkdirSync(empty.projectDir, { recursive: true });
    writeFileSync(path.join(empty.projectDir, 'leftover.txt'), 'x');
    const run2 = await empty.prepare();
    expect(run2.code, run2.output).toBe(0);
    expect(run2.output).toContain('Skipping Git repository setup and creating an empty build directory');
    expect(readdirSync(empty.projectDir)).toEqual([]);
    await empty.build(() => {}, 0);
    await empty.finish(app.runner);
  });
});
