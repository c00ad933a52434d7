// The job's trace as GitLab will hold it: append-only bytes, their CRC-32 and count (the final PUT's
// `checksum`/`bytesize`), with gitlab-runner's buffer rules on the way in: invalid UTF-8 → U+FFFD,
// and `output_limit` — the write that crosses it is cut at a character boundary, upstream's notice is
// appended, and everything later is dropped (helpers/trace/buffer.go).
import { crc32 } from 'node:zlib';
import { outputLimitMessage } from './messages.ts';
import { fileSpool, type SpoolFactory, type SpoolFile } from './trace-spool.ts';
import { truncateUtf8, Utf8Sanitizer } from './utf8.ts';

/** `output_limit` default: 4096 KB. */
export const DEFAULT_OUTPUT_LIMIT_BYTES = 4096 * 1024;

/** What the trace sender reads. */
export interface TraceSource {
  readonly size: number;
  readonly checksum: string;
  /** A copy of up to `n` bytes from `offset` (fewer at the end, empty past it). */
  bytes(offset: number, n: number): Uint8Array;
  /** Calls `listener` after each write that may have added bytes; returns the unsubscribe. */
  onWrite?(listener: () => void): () => void;
  /** GitLab holds the first `offset` bytes (the source may move them out of memory). */
  acknowledge?(offset: number): void;
}

export interface TraceBufferOptions {
  /** Bytes, not KB: `output_limit * 1024`. 0 or missing → 4 MiB like upstream. */
  limitBytes?: number;
  /**
   * Where bytes go once they leave memory (default: a file per job, `fileSpool`); `false` keeps the
   * whole trace in memory.
   */
  spool?: SpoolFactory | false;
  /** Bytes GitLab has not acknowledged that stay in memory before older ones are spooled too. */
  memoryBytes?: number;
}

const BLOCK = 8 * 1024;
/**
 * Unacknowledged bytes kept in memory besides the block being filled. None by default: a PATCH
 * reads them back from the page cache, and 1,000 jobs then hold 8 MiB of trace instead of 40.
 */
export const DEFAULT_TRACE_MEMORY_BYTES = 0;

/**
 * Bytes GitLab acknowledged (`acknowledge`) and bytes beyond the memory window leave memory for the
 * spool file in whole blocks, so a job holds a few blocks whatever its log size; `bytes()` reads
 * them back when GitLab needs them again. If the spool cannot be written, the bytes stay in memory.
 */
export class TraceBuffer implements TraceSource {
  readonly limitBytes: number;
  private readonly utf8 = new Utf8Sanitizer();
  /** The bytes from `memStart` on, in blocks of BLOCK bytes; the last one fills up to `used`. */
  private blocks: Buffer[] = [];
  private memStart = 0;
  /** Bytes used in the last block. */
  private used = 0;
  private length = 0;
  /** CRC-32 of the first `crcLength` bytes; brought up to date when the checksum is read. */
  private crc = 0;
  private crcLength = 0;
  private limited = false;
  private finished = false;
  private readonly memoryBytes: number;
  private readonly spoolFactory: SpoolFactory | undefined;
  private spool: SpoolFile | undefined;
  private spoolBroken = false;
  private acknowledged = 0;
  private listener: (() => void) | undefined;

  constructor(options: TraceBufferOptions = {}) {
    this.limitBytes =
      options.limitBytes && options.limitBytes > 0 ? options.limitBytes : DEFAULT_OUTPUT_LIMIT_BYTES;
    this.spoolFactory = options.spool === false ? undefined : (options.spool ?? fileSpool);
    this.memoryBytes = Math.max(0, options.memoryBytes ?? DEFAULT_TRACE_MEMORY_BYTES);
  }

  get size(): number {
    return this.length;
  }

  /** Bytes held in memory (the rest is in the spool file). */
  get memorySize(): number {
    return this.length - this.memStart;
  }

  /** `crc32:%08x` over every byte in the buffer. */
  get checksum(): string {
    this.updateCrc();
    return `crc32:${(this.crc >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** Folds the bytes appended since the last read into the CRC, block by block (few native calls). */
  private updateCrc(): void {
    let blockStart = this.memStart;
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

  onWrite(listener: () => void): () => void {
    this.listener = listener;
    return () => {
      if (this.listener === listener) this.listener = undefined;
    };
  }

  write(chunk: Uint8Array | string): void {
    if (this.finished || this.limited) return;
    const raw = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.accept(this.utf8.write(raw));
    this.spill();
    this.listener?.();
  }

  /** Flushes an incomplete trailing UTF-8 sequence (as U+FFFD); later writes are ignored. */
  finish(): void {
    if (this.finished) return;
    if (!this.limited) this.accept(this.utf8.end());
    this.finished = true;
    this.spill();
    this.listener?.();
  }

  /** GitLab holds the first `offset` bytes: they may leave memory. */
  acknowledge(offset: number): void {
    if (offset <= this.acknowledged) return;
    this.acknowledged = Math.min(offset, this.length);
    this.spill();
  }

  /** Removes the spool file; the buffer must not be read after. */
  dispose(): void {
    this.spool?.dispose();
    this.spool = undefined;
    this.spoolBroken = true;
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
    let offset = 0;
    while (offset < data.length) {
      let block = this.blocks[this.blocks.length - 1];
      if (!block || this.used === block.length) {
        block = Buffer.allocUnsafeSlow(BLOCK);
        this.blocks.push(block);
        this.used = 0;
      }
      const n = Math.min(block.length - this.used, data.length - offset);
      block.set(offset === 0 && n === data.length ? data : data.subarray(offset, offset + n), this.used);
      this.used += n;
      offset += n;
    }
  }

  /**
   * Full blocks below the acknowledged offset, or beyond the memory window, go to the spool file
   * (the block being filled stays).
   */
  private spill(): void {
    if (!this.spoolFactory || this.spoolBroken) return;
    let n = 0;
    let end = this.memStart;
    while (n < this.blocks.length - 1) {
      const blockEnd = end + BLOCK;
      const acked = blockEnd <= this.acknowledged;
      const overWindow = this.length - blockEnd >= this.memoryBytes;
      if (!acked && !overWindow) break;
      end = blockEnd;
      n++;
    }
    if (n === 0) return;
    this.updateCrc();
    const out = n === 1 ? this.blocks[0]! : Buffer.concat(this.blocks.slice(0, n), n * BLOCK);
    try {
      this.spool ??= this.spoolFactory();
      this.spool.append(out);
    } catch {
      // No room or no temp dir: keep everything in memory from now on; nothing is lost.
      this.spoolBroken = true;
      return;
    }
    this.blocks.splice(0, n);
    this.memStart = end;
  }

  bytes(offset: number, n: number): Uint8Array {
    const start = Math.max(0, offset);
    const end = Math.min(this.length, start + Math.max(0, n));
    if (end <= start) return new Uint8Array(0);
    const out = Buffer.allocUnsafe(end - start);
    let written = 0;
    if (start < this.memStart) {
      const fromFile = Math.min(end, this.memStart) - start;
      if (!this.spool) throw new Error('trace buffer: the spooled bytes are gone');
      this.spool.read(start, out.subarray(0, fromFile));
      written = fromFile;
    }
    let blockStart = this.memStart;
    for (let i = 0; i < this.blocks.length && blockStart < end; i++) {
      const block = this.blocks[i]!;
      const blockLen = i === this.blocks.length - 1 ? this.used : block.length;
      const blockEnd = blockStart + blockLen;
      if (blockEnd > start + written) {
        const from = Math.max(start + written, blockStart) - blockStart;
        const to = Math.min(end, blockEnd) - blockStart;
        block.copy(out, written, from, to);
        written += to - from;
      }
      blockStart = blockEnd;
    }
    return out;
  }
}
