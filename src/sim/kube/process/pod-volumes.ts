// A pod's volumes on the host, in the pod's state directory: emptyDir directories (mode 0777, as the
// kubelet makes them), secret/configMap-like `files` volumes laid out the way the kubelet's atomic
// writer does (`..<timestamp>/` holding the files, `..data` pointing at it, one link per top-level
// entry; always mounted read-only, as the kubelet does), hostPath checked against its `type`.
import { chmod, mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type { ResolvedVolume } from '../runtime.ts';
import { ProcessRuntimeError } from './errors.ts';

export interface PreparedVolume {
  /** The host path bound into containers. */
  path: string;
  /** Mounted read-only whatever the mount says (secret, configMap, projected, downwardAPI). */
  forceReadOnly: boolean;
}

/** A relative path that stays inside its base: no `..`, not absolute. */
export function isContainedRelativePath(path: string): boolean {
  if (path === '' || path.startsWith('/')) return false;
  return !normalize(path)
    .split('/')
    .some((part) => part === '..');
}

const safeName = (name: string) => name.replace(/[^A-Za-z0-9._-]/g, '_');

function atomicWriterDirName(now: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}`;
  return `..${stamp}.${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
}

async function writeFilesVolume(
  dir: string,
  files: { path: string; content: Uint8Array; mode: number }[],
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o1777);
  const dataDir = atomicWriterDirName(new Date());
  const top = new Set<string>();
  for (const file of files) {
    if (!isContainedRelativePath(file.path)) {
      throw new ProcessRuntimeError('invalid-sub-path', `volume file path "${file.path}" leaves its volume`);
    }
    const target = join(dir, dataDir, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
    await chmod(target, file.mode & 0o7777);
    top.add(normalize(file.path).split('/')[0] as string);
  }
  await mkdir(join(dir, dataDir), { recursive: true });
  await chmod(join(dir, dataDir), 0o755);
  await symlink(dataDir, join(dir, '..data'));
  for (const name of top) await symlink(join('..data', name), join(dir, name));
}

async function checkHostPath(path: string, type: string | undefined): Promise<void> {
  const exists = async () => {
    try {
      return await stat(path);
    } catch {
      return undefined;
    }
  };
  const fail = (what: string) => {
    throw new ProcessRuntimeError('host-path-type', `hostPath type check failed: ${path} is not ${what}`);
  };
  switch (type ?? '') {
    case '':
      // No check: like containerd, a missing source is created as a directory.
      if (!(await exists())) await mkdir(path, { recursive: true });
      return;
    case 'DirectoryOrCreate':
      if (!(await exists())) await mkdir(path, { recursive: true, mode: 0o755 });
      else if (!(await exists())?.isDirectory()) fail('a directory');
      return;
    case 'FileOrCreate': {
      const s = await exists();
      if (!s) await writeFile(path, '', { mode: 0o644 });
      else if (s.isDirectory()) fail('a file');
      return;
    }
    case 'Directory':
      if (!(await exists())?.isDirectory()) fail('a directory');
      return;
    case 'File':
      if (!(await exists())?.isFile()) fail('a file');
      return;
    case 'Socket':
      if (!(await exists())?.isSocket()) fail('a socket file');
      return;
    case 'CharDevice':
      if (!(await exists())?.isCharacterDevice()) fail('a character device');
      return;
    case 'BlockDevice':
      if (!(await exists())?.isBlockDevice()) fail('a block device');
      return;
    default:
      throw new ProcessRuntimeError('host-path-type', `hostPath type "${type}" is not a known type`);
  }
}

export async function preparePodVolumes(
  volumesDir: string,
  volumes: ResolvedVolume[],
): Promise<Map<string, PreparedVolume>> {
  const prepared = new Map<string, PreparedVolume>();
  for (const volume of volumes) {
    const dir = join(volumesDir, safeName(volume.name));
    switch (volume.kind) {
      case 'emptyDir':
      case 'placeholder':
        await mkdir(dir, { recursive: true });
        await chmod(dir, 0o777);
        prepared.set(volume.name, { path: dir, forceReadOnly: false });
        break;
      case 'files':
        await writeFilesVolume(dir, volume.files);
        prepared.set(volume.name, { path: dir, forceReadOnly: true });
        break;
      case 'hostPath':
        await checkHostPath(volume.path, volume.type);
        prepared.set(volume.name, { path: volume.path, forceReadOnly: false });
        break;
    }
  }
  return prepared;
}

/** What a mount point for `source` must be: a directory, or a file for anything else. */
export async function mountKind(source: string): Promise<'dir' | 'file'> {
  try {
    return (await stat(source)).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'dir'; // the bind fails later with a clear message
  }
}
