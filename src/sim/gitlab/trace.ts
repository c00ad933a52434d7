// A job's log as GitLab stores it: appended in `Content-Range` order, with a running CRC-32 so the
// final update's `crc32:` checksum can be compared without rereading the log.
import { crc32 } from 'node:zlib';

export class TraceLog {
  private chunks: Buffer[] = [];
  private size = 0;
  private crc = 0;

  get length(): number {
    return this.size;
  }

  get checksum(): string {
    return `crc32:${(this.crc >>> 0).toString(16).padStart(8, '0')}`;
  }

  append(data: Buffer): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.size += data.length;
    this.crc = crc32(data, this.crc);
  }

  /** Every occurrence of `secret` replaced by as many `x` (GitLab hides the job token this way). */
  static hide(data: Buffer, secret: string): Buffer {
    if (secret.length === 0 || data.indexOf(secret) === -1) return data;
    const out = Buffer.from(data);
    const mask = Buffer.alloc(Buffer.byteLength(secret), 'x');
    for (let i = out.indexOf(secret); i !== -1; i = out.indexOf(secret, i + mask.length)) mask.copy(out, i);
    return out;
  }

  bytes(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  static from(data: Buffer): TraceLog {
    const log = new TraceLog();
    log.append(data);
    return log;
  }
}
