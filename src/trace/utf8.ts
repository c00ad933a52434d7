// Invalid UTF-8 becomes U+FFFD before bytes enter the trace, the way Go's `encoding.Replacement`
// encoder does it in gitlab-runner's trace buffer: every byte that does not start a valid sequence is
// replaced by its own U+FFFD, and an incomplete sequence at the end of a write waits for the next one.
import { isUtf8 } from 'node:buffer';

const REPLACEMENT = Buffer.from([0xef, 0xbf, 0xbd]);

/** Length of the valid sequence starting at `i`, 0 if none; -1 when `buf` ends inside a valid prefix. */
function sequenceLength(buf: Uint8Array, i: number): number {
  const b0 = buf[i]!;
  if (b0 < 0x80) return 1;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    if (b0 === 0xe0) lo = 0xa0;
    else if (b0 === 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    if (b0 === 0xf0) lo = 0x90;
    else if (b0 === 0xf4) hi = 0x8f;
  } else return 0;
  for (let k = 1; k <= need; k++) {
    if (i + k >= buf.length) return -1;
    const b = buf[i + k]!;
    if (k === 1 ? b < lo || b > hi : b < 0x80 || b > 0xbf) return 0;
  }
  return need + 1;
}

/** How many trailing bytes of `buf` form an incomplete but so far valid sequence (0–3). */
export function incompleteTail(buf: Uint8Array): number {
  const start = Math.max(0, buf.length - 3);
  for (let i = buf.length - 1; i >= start; i--) {
    const b = buf[i]!;
    if (b < 0x80) return 0;
    if (b >= 0xc0) return sequenceLength(buf, i) === -1 ? buf.length - i : 0;
  }
  return 0;
}

/** Replaces invalid sequences in `buf` (which must not end inside a valid prefix unless `atEnd`). */
function replaceInvalid(buf: Uint8Array): Buffer {
  const parts: Uint8Array[] = [];
  let runStart = 0;
  let i = 0;
  while (i < buf.length) {
    const len = sequenceLength(buf, i);
    if (len > 0) {
      i += len;
      continue;
    }
    if (i > runStart) parts.push(buf.subarray(runStart, i));
    parts.push(REPLACEMENT);
    i += 1;
    runStart = i;
  }
  if (runStart < buf.length) parts.push(buf.subarray(runStart));
  return Buffer.concat(parts);
}

/** True for short all-ASCII input (record headers, most log lines): cheaper in JS than a native call. */
function isShortAscii(buf: Uint8Array): boolean {
  if (buf.length > 160) return false;
  for (let i = 0; i < buf.length; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

/** A streaming sanitiser: `write` returns valid UTF-8, holding back at most 3 bytes between calls. */
export class Utf8Sanitizer {
  private pending: Uint8Array | null = null;

  write(chunk: Uint8Array): Uint8Array {
    if (this.pending === null && isShortAscii(chunk)) return chunk;
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    if (buf.length === 0) return buf;
    const tail = incompleteTail(buf);
    const body = tail ? buf.subarray(0, buf.length - tail) : buf;
    if (tail) this.pending = Buffer.from(buf.subarray(buf.length - tail));
    return isUtf8(body) ? body : replaceInvalid(body);
  }

  /** End of input: an incomplete sequence left over becomes one U+FFFD per byte. */
  end(): Uint8Array {
    const rest = this.pending;
    this.pending = null;
    return rest ? replaceInvalid(rest) : new Uint8Array(0);
  }
}

/**
 * The first `capacity` bytes of valid UTF-8 `buf`, shortened so no multi-byte character is cut
 * (gitlab-runner's `truncateSafeUTF8`).
 */
export function truncateUtf8(buf: Uint8Array, capacity: number): Uint8Array {
  if (capacity >= buf.length) return buf;
  let end = capacity;
  // Step back over continuation bytes to the lead byte; drop it if its sequence does not fit.
  let i = end - 1;
  let steps = 0;
  while (i >= 0 && steps < 4 && (buf[i]! & 0xc0) === 0x80) {
    i--;
    steps++;
  }
  if (i >= 0 && buf[i]! >= 0xc0) {
    const len = sequenceLength(buf, i);
    if (len <= 0 || i + len > end) end = i;
  }
  return buf.subarray(0, end);
}
