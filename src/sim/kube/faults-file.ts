// `--faults FILE` (YAML or JSON): an `api:` section for the API server and a `kubelet:` section for
// the kubelet; both are validated here so a bad file is refused at start, naming the file.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { type ApiFaults, apiFaultsSchema } from './api/faults.ts';
import { type KubeletFaultsInput, kubeletFaultsSchema } from './kubelet/faults.ts';

const faultsFileSchema = z
  .object({
    api: apiFaultsSchema.optional(),
    kubelet: kubeletFaultsSchema.optional(),
  })
  .strict();

export interface FaultsFile {
  api?: ApiFaults;
  kubelet?: KubeletFaultsInput;
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
  // The kubelet parses its section again (with defaults); hand it what the file said.
  const raw2 = raw as { kubelet?: KubeletFaultsInput } | null;
  if (raw2?.kubelet !== undefined) out.kubelet = raw2.kubelet;
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
