// A project directory as the files of a commit: every regular file below it (executable bits kept), with
// paths relative to it. `.git` is left out.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SAMPLE_PROJECT_DIR = fileURLToPath(new URL('./sample-project/', import.meta.url));

export class ProjectFilesError extends Error {
  readonly code = 'project-unreadable';
}

export type ProjectFiles = Record<string, { content: Buffer; executable: boolean }>;

export async function readProjectFiles(dir: string): Promise<ProjectFiles> {
  const files: ProjectFiles = {};
  const walk = async (at: string): Promise<void> => {
    const entries = await readdir(at, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === '.git') continue;
      const path = join(at, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const info = await stat(path);
        files[relative(dir, path).split(sep).join('/')] = {
          content: await readFile(path),
          executable: (info.mode & 0o111) !== 0,
        };
      }
    }
  };
  try {
    await walk(dir);
  } catch (err) {
    throw new ProjectFilesError(`cannot read the project directory ${dir}: ${(err as Error).message}`);
  }
  if (!files['.gitlab-ci.yml']) throw new ProjectFilesError(`${dir} has no .gitlab-ci.yml`);
  return files;
}
