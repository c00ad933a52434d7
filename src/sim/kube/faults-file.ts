// `--faults FILE` (YAML or JSON): an `api:` section for the API server and a `kubelet:` section passed
// to the kubelet untouched.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { type ApiFaults, apiFaultsSchema } from './api/faults.ts';

const faultsFileSchema = z
  .object({
    api: apiFaultsSchema.optional(),
    kubelet: z.unknown().optional(),
  })
  .strict();

export interface FaultsFile {
  api?: ApiFaults;
  kubelet?: unknown;
}

export class FaultsFileError extends Error {
  override readonly name = 'FaultsFileError';
  readonly code = 'SIM_KUBE_FAULTS_INVALID';
}

export function parseFaults(text: string, source: string): FaultsFile {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new FaultsFileError(`${source}: not YAML or JSON: ${(err as Error).message}`);
  }
  const result = faultsFileSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.length > 0 ? i.path.join('.') : '(top level)'}: ${i.message}`,
    );
    throw new FaultsFileError(`${source}: invalid faults: ${problems.join('; ')}`);
  }
  const out: FaultsFile = {};
  if (result.data.api) out.api = result.data.api;
  if (result.data.kubelet !== undefined) out.kubelet = result.data.kubelet;
  return out;
}

export async function readFaultsFile(path: string): Promise<FaultsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new FaultsFileError(`${path}: cannot read: ${(err as Error).message}`);
  }
  return parseFaults(text, path);
}
