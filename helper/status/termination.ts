// The one-line JSON result each podrunner container leaves at its termination-message path; the
// manager reads it back from the pod status (docs/pod-contract.md).
import { writeFileSync } from 'node:fs';

/** Kubernetes keeps at most 4096 bytes of a termination message. */
const LIMIT = 4096;

export function writeTermination(file: string, result: Record<string, unknown>): void {
  let line = JSON.stringify(result);
  if (Buffer.byteLength(line) > LIMIT && typeof result.error === 'string') {
    const room = LIMIT - Buffer.byteLength(JSON.stringify({ ...result, error: '' })) - 16;
    line = JSON.stringify({ ...result, error: `${result.error.slice(0, Math.max(0, room))}…` });
  }
  try {
    writeFileSync(file, `${line}\n`);
  } catch {
    // Outside Kubernetes the path may not be writable; the exit code still tells the result.
  }
}
