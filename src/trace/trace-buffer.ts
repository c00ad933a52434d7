// The job's trace as GitLab will hold it: append-only bytes, their CRC-32 and count (the final PUT's
// `checksum`/`bytesize`), with gitlab-runner's buffer rules on the way in: invalid UTF-8 → U+FFFD,
// and `output_limit` — the write that crosses it is cut at a character boundary, upstream's notice is
// appended, and everything later is dropped (helpers/trace/buffer.go).
import { crc32 } from 'node:zlib';
import { outputLimitMessage } from './messages.ts';
import { truncateUtf8, Utf8Sanitizer } from './utf8.ts';

/** `output_limit` default: 4096 KB. */
export const DEFAULT_OUTPUT_LIMIT_BYTES = 4096 * 1024;

/** What the trace sender reads. */
export interface TraceSource {
  readonly size: number;
  readonly checksum: string;
  /** A copy of up to `n` bytes from `offset` (fewer at the end, empty past it). */
  bytes(offset: number, n: number): Uint8Array;
}

export interface TraceBufferOptions {
  /** Bytes, not KB: `output_limit * 1024`. 0 or missing → 4 MiB like upstream. */
  limitBytes?: number;
}

const FIRST_BLOCK = 4 * 1024;
const MAX_BLOCK = 256 * 1024;

export class TraceBuffer implements TraceSource {
  readonly limitBytes: number;
  private readonly utf8 = new Utf8Sanitizer();
  private readonly blocks: Buffer[] = [];
  /** Bytes used in the last block. */
  private used = 0;
  private length = 0;
  /** CRC-32 of the first `crcLength` bytes; brought up to date when the checksum is read. */
  private crc = 0;
  private crcLength = 0;
  private limited = false;
  private finished = false;

  constructor(options: TraceBufferOptions = {}) {
    this.limitBytes =
      options.limitBytes && options.limitBytes > 0 ? options.limitBytes : DEFAULT_OUTPUT_LIMIT_BYTES;
  }

  get size(): number {
    return this.length;
  }

  /** `crc32:%08x` over every byte in the buffer. */
  get checksum(): string {
    this.updateCrc();
    return `crc32:${(this.crc >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** Folds the bytes appended since the last read into the CRC, block by block (few native calls). */
  private updateCrc(): void {
    let blockStart = 0;
    for (let i = 0; i < this.blocks.length && this.crcLength < this.length; i++) {
      const block = this.blocks[i]!;
      const blockLen = i === this.blocks.length - 1 ? this.used : block.length;
      const blockEnd = blockStart + blockLen;
      if (blockEnd > this.crcLength) {
        this.crc = crc32(block.subarray(this.crcLength - blockStart, blockLen), this.crc);
        this.crcLength = blockEnd;
      }
      blockStart = blockEnd;
    }
  }

  /** True once `output_limit` was reached: later writes are dropped. */
  get limitReached(): boolean {
    return this.limited;
  }

  write(chunk: Uint8Array | string): void {
    if (this.finished || this.limited) return;
    const raw = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.accept(this.utf8.write(raw));
  }

  /** Flushes an incomplete trailing UTF-8 sequence (as U+FFFD); later writes are ignored. */
  finish(): void {
    if (this.finished) return;
    if (!this.limited) this.accept(this.utf8.end());
    this.finished = true;
  }

  private accept(data: Uint8Array): void {
    if (data.length === 0 || this.limited) return;
    const capacity = this.limitBytes - this.length;
    if (data.length >= capacity) {
      this.append(truncateUtf8(data, Math.max(0, capacity)));
      this.append(Buffer.from(outputLimitMessage(this.limitBytes), 'utf8'));
      this.limited = true;
      return;
    }
    this.append(data);
  }

  private append(data: Uint8Array): void {
    if (data.length === 0) return;
    this.length += data.length;
    const current = this.blocks[this.blocks.length - 1];
    if (current && current.length - this.used >= data.length) {
      current.set(data, this.used);
      this.used += data.length;
      return;
    }
    let offset = 0;
    while (offset < data.length) {
      let block = this.blocks[this.blocks.length - 1];
      if (!block || this.used === block.length) {
        const size = block ? Math.min(block.length * 2, MAX_BLOCK) : FIRST_BLOCK;
        block = Buffer.allocUnsafe(Math.max(size, Math.min(data.length - offset, MAX_BLOCK)));
        this.blocks.push(block);
        this.used = 0;
      }
      const n = Math.min(block.length - this.used, data.length - offset);
      block.set(data.subarray(offset, offset + n), this.used);
      this.used += n;
      offset += n;
    }
  }

  bytes(offset: number, n: number): Uint8Array {
    const start = Math.max(0, offset);
    const end = Math.min(this.length, start + Math.max(0, n));
    if (end <= start) return new Uint8Array(0);
    const out = Buffer.allocUnsafe(end - start);
    let blockStart = 0;
    let written = 0;
    for (let i = 0; i < this.blocks.length && blockStart < end; i++) {
      const block = this.blocks[i]!;
      const blockLen = i === this.blocks.length - 1 ? this.used : block.length;
      const blockEnd = blockStart + blockLen;
      if (blockEnd > start) {
        const from = Math.max(start, blockStart) - blockStart;
        const to = Math.min(end, blockEnd) - blockStart;
        block.copy(out, written, from, to);
        written += to - from;
      }
      blockStart = blockEnd;
    }
    return out;
  }
}
