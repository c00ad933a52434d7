// `cache:key:files` as GitLab computes it when it creates the pipeline (lib/gitlab/ci/pipeline/seed/
// build/cache.rb): the SHA-1 of the sorted, de-duplicated blob ids of the listed files at the
// pipeline's commit (`files`), or of the ids of the last commits that changed them (`files_commits`,
// and `files` on older GitLab), joined with "-"; `default` when no file exists; `prefix-` in front.
// The runner receives the finished key; this is for the embedded GitLab that plays the server.
import { createHash } from 'node:crypto';
import picomatch from 'picomatch';
import { simpleGit } from 'simple-git';

export interface KeyFilesOptions {
  /** A repository (bare or not) that has `sha`. */
  repoDir: string;
  sha: string;
  files: string[];
  prefix?: string;
  /** `files` (blob ids, GitLab 18) or `files_commits` (last commit ids, the older behaviour). */
  mode?: 'files' | 'files_commits';
}

export async function cacheKeyFromFiles(options: KeyFilesOptions): Promise<string> {
  const git = simpleGit({ baseDir: options.repoDir });
  const wanted = [...new Set(options.files.filter((f) => f !== ''))];
  let paths = wanted;
  if (wanted.some((f) => f.includes('*'))) {
    const all = (await git.raw(['ls-tree', '-r', '--name-only', '-z', options.sha]))
      .split('\0')
      .filter(Boolean);
    paths = [
      ...new Set(
        wanted.flatMap((pattern) => {
          if (!pattern.includes('*')) return [pattern];
          const isMatch = picomatch(pattern, { dot: true });
          return all.filter((p) => isMatch(p));
        }),
      ),
    ];
  }
  const ids: string[] = [];
  for (const file of paths) {
    if (options.mode === 'files_commits') {
      const id = (await git.raw(['log', '-1', '--format=%H', options.sha, '--', file])).trim();
      if (id) ids.push(id);
    } else {
      const line = (await git.raw(['ls-tree', options.sha, '--', file])).trim();
      const m = /^\d+ blob ([0-9a-f]+)\t/.exec(line);
      if (m) ids.push(m[1]!);
    }
  }
  const unique = [...new Set(ids)].sort();
  const digest = unique.length > 0 ? createHash('sha1').update(unique.join('-')).digest('hex') : 'default';
  return [options.prefix ?? '', digest].filter((s) => s !== '').join('-');
}
