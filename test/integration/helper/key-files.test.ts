// `cache:key:files` computed on a real repository, as GitLab does when it creates the pipeline.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheKeyFromFiles } from '../../../helper/cache/key-files.ts';
import { TestProject, testGit } from './support/repos.ts';

const root = mkdtempSync(path.join(tmpdir(), 'key-files-'));
const repo = TestProject.local(root, 'group/app');
afterAll(() => {
  repo.cleanup();
  rmSync(root, { recursive: true, force: true });
});

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

describe('cache:key:files', () => {
  it('hashes the blob ids of the files (GitLab 18), with the prefix, and falls back to default', async () => {
    const first = await repo.commit({
      'package-lock.json': '{"v":1}\n',
      'sub/yarn.lock': 'y\n',
      'README.md': 'r\n',
    });
    const lock = testGit(repo.bare, 'rev-parse', `${first}:package-lock.json`);
    const yarn = testGit(repo.bare, 'rev-parse', `${first}:sub/yarn.lock`);
    const key = await cacheKeyFromFiles({
      repoDir: repo.bare,
      sha: first,
      files: ['package-lock.json', '**/yarn.lock'],
      prefix: 'deps',
    });
    expect(key).toBe(`deps-${sha1([lock, yarn].sort().join('-'))}`);
    expect(await cacheKeyFromFiles({ repoDir: repo.bare, sha: first, files: ['missing.lock'] })).toBe(
      'default',
    );

    // Another commit that does not touch the files keeps the key; one that does changes it.
    const second = await repo.commit({ 'README.md': 'changed\n' });
    expect(
      await cacheKeyFromFiles({
        repoDir: repo.bare,
        sha: second,
        files: ['package-lock.json', '**/yarn.lock'],
        prefix: 'deps',
      }),
    ).toBe(key);
    const third = await repo.commit({ 'package-lock.json': '{"v":2}\n' });
    expect(
      await cacheKeyFromFiles({ repoDir: repo.bare, sha: third, files: ['package-lock.json'] }),
    ).not.toBe(key);
  });

  it('hashes the last commits that changed the files in files_commits mode', async () => {
    const head = testGit(repo.bare, 'rev-parse', 'main');
    const last = testGit(repo.bare, 'log', '-1', '--format=%H', head, '--', 'package-lock.json');
    expect(
      await cacheKeyFromFiles({
        repoDir: repo.bare,
        sha: head,
        files: ['package-lock.json'],
        mode: 'files_commits',
      }),
    ).toBe(sha1(last));
  });
});
