// get_sources against real git (git http-backend behind GitLab-like basic auth), run through the real
// helper program. Re-point `startTarget` (support/target.ts) at the embedded GitLab to run the same
// checks against it.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeJob } from './support/jobs.ts';
import { type TestProject, testGit } from './support/repos.ts';
import { helperSettings, podDirs, runHelper } from './support/run-helper.ts';
import { type HelperTarget, startTarget } from './support/target.ts';

let target: HelperTarget;
const projects: TestProject[] = [];

beforeAll(async () => {
  target = await startTarget();
});
afterAll(async () => {
  for (const p of projects) p.cleanup();
  await target.stop();
});

function project(name: string): TestProject {
  const p = target.createProject(name);
  projects.push(p);
  return p;
}

const SECTION_START =
  /section_start:\d+:get_sources\r\x1b\[0K\x1b\[0K\x1b\[36;1mGetting source from Git repository\x1b\[0;m/;

describe('get_sources', () => {
  it('clones at depth 1, then fetches a newer commit on a second run, both checking out the job SHA', async () => {
    const repo = project('group/app');
    const first = repo.commit({
      'README.md': 'one\n',
      'bin/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
    });
    const dirs = podDirs();
    const projectDir = path.join(dirs.buildsDir, 'group/app');
    const token = target.newJobToken(1);
    const job = makeJob({
      id: 1,
      token,
      serverUrl: target.url,
      project: repo.path,
      sha: first,
      depth: 1,
      variables: { GIT_STRATEGY: 'clone' },
    });
    const run1 = await runHelper(
      'prepare',
      dirs,
      job,
      helperSettings(dirs, { serverUrl: target.url, projectDir }),
      { watch: token },
    );

    expect(run1.code, run1.output).toBe(0);
    expect(run1.termination).toEqual({ ok: true });
    expect(run1.output).toMatch(SECTION_START);
    expect(run1.output).toContain('\x1b[32;1mFetching changes with git depth set to 1...\x1b[0;m');
    expect(run1.output).toContain('\x1b[32;1mCreated fresh repository.\x1b[0;m');
    expect(run1.output).toContain(`Checking out ${first.slice(0, 8)} as detached HEAD (ref is main)...`);
    expect(run1.output).toContain('Skipping Git submodules setup');
    expect(run1.output).toMatch(/section_end:\d+:get_sources\r\x1b\[0K/);
    expect(testGit(projectDir, 'rev-parse', 'HEAD')).toBe(first);
    expect(testGit(projectDir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('HEAD'); // detached
    expect(existsSync(path.join(projectDir, '.git/shallow'))).toBe(true);
    expect(statSync(path.join(projectDir, 'bin/run.sh')).mode & 0o111).not.toBe(0);
    // The token never showed: not in the log, not in any process's argv or environment.
    expect(run1.output).not.toContain(token);
    expect(run1.sightings).toEqual([]);
    expect(readFileSync(path.join(projectDir, '.git/config'), 'utf8')).not.toContain(token);
    expect(existsSync(path.join(dirs.statusDir, 'build.alive'))).toBe(true);
    expect(statSync(path.join(dirs.statusDir, 'build.alive')).isFIFO()).toBe(true);

    const second = repo.commit({ 'README.md': 'two\n' });
    const token2 = target.newJobToken(2);
    const job2 = makeJob({
      id: 2,
      token: token2,
      serverUrl: target.url,
      project: repo.path,
      sha: second,
      depth: 1,
      variables: { GIT_STRATEGY: 'fetch' },
    });
    const run2 = await runHelper(
      'prepare',
      dirs,
      job2,
      helperSettings(dirs, { serverUrl: target.url, projectDir }),
      { watch: token2 },
    );
    expect(run2.code, run2.output).toBe(0);
    expect(run2.output).toContain('Fetching changes with git depth set to 1...');
    expect(run2.output).toContain('Reinitialized existing Git repository');
    expect(testGit(projectDir, 'rev-parse', 'HEAD')).toBe(second);
    expect(readFileSync(path.join(projectDir, 'README.md'), 'utf8')).toBe('two\n');
    expect(run2.sightings).toEqual([]);
    rmSync(dirs.root, { recursive: true, force: true });
  });

  it('checks out submodules recursively with the job token', async () => {
    const leaf = project('group/leaf');
    const leafSha = leaf.commit({ 'leaf.txt': 'leaf\n' });
    const mid = project('group/mid');
    mid.commit({ 'mid.txt': 'mid\n' });
    const midSha = mid.addSubmodule('deps/leaf', leaf, leafSha);
    const top = project('group/top');
    top.commit({ 'top.txt': 'top\n' });
    const topSha = top.addSubmodule('vendor/mid', mid, midSha);

    const dirs = podDirs();
    const projectDir = path.join(dirs.buildsDir, 'group/top');
    const token = target.newJobToken(3);
    const job = makeJob({
      id: 3,
      token,
      serverUrl: target.url,
      project: top.path,
      sha: topSha,
      depth: 0,
      variables: { GIT_SUBMODULE_STRATEGY: 'recursive' },
    });
    const run = await runHelper(
      'prepare',
      dirs,
      job,
      helperSettings(dirs, { serverUrl: target.url, projectDir }),
      { watch: token },
    );
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('Updating/initializing submodules recursively...');
    expect(run.output).toContain('Updated submodules');
    expect(readFileSync(path.join(projectDir, 'vendor/mid/mid.txt'), 'utf8')).toBe('mid\n');
    expect(readFileSync(path.join(projectDir, 'vendor/mid/deps/leaf/leaf.txt'), 'utf8')).toBe('leaf\n');
    expect(testGit(path.join(projectDir, 'vendor/mid/deps/leaf'), 'rev-parse', 'HEAD')).toBe(leafSha);
    expect(run.output).not.toContain(token);
    expect(run.sightings).toEqual([]);
    rmSync(dirs.root, { recursive: true, force: true });
  });

  it('fails with a clear message when the server refuses the job token, and never shows the token', async () => {
    const repo = project('group/private');
    const sha = repo.commit({ 'a.txt': 'a\n' });
    const dirs = podDirs();
    const projectDir = path.join(dirs.buildsDir, 'group/private');
    const wrong = 'glcbt-this-token-is-not-known-0123';
    const job = makeJob({ id: 4, token: wrong, serverUrl: target.url, project: repo.path, sha });
    const run = await runHelper(
      'prepare',
      dirs,
      job,
      helperSettings(dirs, { serverUrl: target.url, projectDir }),
      { watch: wrong },
    );
    expect(run.code).toBe(1);
    expect(run.termination).toMatchObject({
      ok: false,
      stage: 'get_sources',
      failure_reason: 'script_failure',
    });
    expect(String(run.termination?.error)).toMatch(/refused the job token .*authentication failed/);
    expect(run.output).toMatch(/ERROR: the Git server refused the job token/);
    expect(run.output).not.toContain(wrong);
    expect(JSON.stringify(run.termination)).not.toContain(wrong);
    expect(run.sightings).toEqual([]);
    expect(existsSync(path.join(dirs.statusDir, 'build.alive'))).toBe(false);
    rmSync(dirs.root, { recursive: true, force: true });
  });

  it('runs the pre/post get-sources hooks, honours GIT_CHECKOUT=false and GIT_CLEAN_FLAGS', async () => {
    const repo = project('group/hooks');
    const sha = repo.commit({ 'tracked.txt': 'x\n' });
    const dirs = podDirs();
    const projectDir = path.join(dirs.buildsDir, 'group/hooks');
    const token = target.newJobToken(5);
    const job = makeJob({
      id: 5,
      token,
      serverUrl: target.url,
      project: repo.path,
      sha,
      hooks: [
        { name: 'pre_get_sources_script', script: ['echo "pre from job in $PWD"'] },
        { name: 'post_get_sources_script', script: ['echo post > post-hook.txt'] },
      ],
    });
    const run = await runHelper(
      'prepare',
      dirs,
      job,
      helperSettings(dirs, { serverUrl: target.url, projectDir, preGetSourcesScript: 'echo runner-pre' }),
    );
    expect(run.code, run.output).toBe(0);
    const pre = run.output.indexOf('\x1b[32;1m$ echo runner-pre\x1b[0;m');
    const jobPre = run.output.indexOf('pre from job in');
    const fetch = run.output.indexOf('Fetching changes');
    expect(pre).toBeGreaterThan(0);
    expect(jobPre).toBeGreaterThan(pre);
    expect(fetch).toBeGreaterThan(jobPre);
    expect(readFileSync(path.join(projectDir, 'post-hook.txt'), 'utf8')).toBe('post\n');

    // A second job that keeps an untracked file (GIT_CLEAN_FLAGS=none) and skips the checkout.
    const token2 = target.newJobToken(6);
    const job2 = makeJob({
      id: 6,
      token: token2,
      serverUrl: target.url,
      project: repo.path,
      sha,
      variables: { GIT_CLEAN_FLAGS: 'none', GIT_CHECKOUT: 'false' },
    });
    const run2 = await runHelper(
      'prepare',
      dirs,
      job2,
      helperSettings(dirs, { serverUrl: target.url, projectDir }),
    );
    expect(run2.code, run2.output).toBe(0);
    expect(run2.output).toContain('Skipping Git checkout');
    expect(existsSync(path.join(projectDir, 'post-hook.txt'))).toBe(true);
    rmSync(dirs.root, { recursive: true, force: true });
  });

  it('retries per GET_SOURCES_ATTEMPTS after clearing the worktree', async () => {
    const repo = project('group/flaky');
    const sha = repo.commit({ 'f.txt': 'f\n' });
    const dirs = podDirs();
    const projectDir = path.join(dirs.buildsDir, 'group/flaky');
    const token = target.newJobToken(7);
    target.failNextGitRequests(1);
    const job = makeJob({
      id: 7,
      token,
      serverUrl: target.url,
      project: repo.path,
      sha,
      variables: { GET_SOURCES_ATTEMPTS: '2' },
    });
    const run = await runHelper(
      'prepare',
      dirs,
      job,
      helperSettings(dirs, { serverUrl: target.url, projectDir }),
    );
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/section_start:\d+:clear_worktree/);
    expect(run.output.match(/section_start:\d+:get_sources/g)).toHaveLength(2);
    expect(testGit(projectDir, 'rev-parse', 'HEAD')).toBe(sha);
    rmSync(dirs.root, { recursive: true, force: true });
  });

  it('creates only the directory for GIT_STRATEGY=none and an empty one for GIT_STRATEGY=empty', async () => {
    const dirs = podDirs();
    const projectDir = path.join(dirs.buildsDir, 'group/none');
    const token = target.newJobToken(8);
    const job = makeJob({
      id: 8,
      token,
      serverUrl: target.url,
      project: 'group/none',
      sha: 'a'.repeat(40),
      variables: { GIT_STRATEGY: 'none' },
    });
    const run = await runHelper(
      'prepare',
      dirs,
      job,
      helperSettings(dirs, { serverUrl: target.url, projectDir }),
    );
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('Skipping Git repository setup');
    expect(statSync(projectDir).isDirectory()).toBe(true);
    expect(target.gitRequestCount('group/none')).toBe(0);

    writeFileSync(path.join(projectDir, 'leftover.txt'), 'x');
    const empty = makeJob({
      id: 9,
      token: target.newJobToken(9),
      serverUrl: target.url,
      project: 'group/none',
      sha: 'a'.repeat(40),
      variables: { GIT_STRATEGY: 'empty' },
    });
    const run2 = await runHelper(
      'prepare',
      dirs,
      empty,
      helperSettings(dirs, { serverUrl: target.url, projectDir }),
    );
    expect(run2.code, run2.output).toBe(0);
    expect(run2.output).toContain('Skipping Git repository setup and creating an empty build directory');
    expect(readdirSync(projectDir)).toEqual([]);
    rmSync(dirs.root, { recursive: true, force: true });
  });
});
