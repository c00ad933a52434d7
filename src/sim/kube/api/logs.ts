// Container logs as the container runtime keeps them: one log per container run, written line by line
// (stdout and stderr merged in write order, a partial line held back until its newline, cut into
// 16 KiB pieces like containerd), rotated when it passes the size limit. Followers are woken on every
// new line and when the run ends.
import type { ContainerLogWriter } from '../kubelet-store.ts';

const maxLinePiece = 16 * 1024;

export interface LogPiece {
  /** Wall-clock milliseconds and the sub-millisecond nanoseconds of the write. */
  time: number;
  nanos: number;
  /** The bytes, with the trailing newline when the line is complete. */
  data: Buffer;
  /** Continues the previous piece (one logical line split at 16 KiB). */
  continuation: boolean;
}

/** A stream's line so far: its pieces, their size, and the time of its first byte. */
interface PendingLine {
  parts: Buffer[];
  size: number;
  time: number;
  nanos: number;
  continuation: boolean;
}

export class ContainerRun {
  readonly pieces: LogPiece[] = [];
  /** Absolute index of pieces[0]; grows when the log rotates. */
  firstIndex = 0;
  closed = false;
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly listeners = new Set<() => void>();
  private readonly pending: Record<'stdout' | 'stderr', PendingLine> = {
    stdout: { parts: [], size: 0, time: 0, nanos: 0, continuation: false },
    stderr: { parts: [], size: 0, time: 0, nanos: 0, continuation: false },
  };

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get endIndex(): number {
    return this.firstIndex + this.pieces.length;
  }

  piece(index: number): LogPiece | undefined {
    return this.pieces[index - this.firstIndex];
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  write(stream: 'stdout' | 'stderr', chunk: Uint8Array, time: number, nanos: number): void {
    if (this.closed) return;
    const p = this.pending[stream];
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let added = false;
    while (buf.length > 0) {
      if (p.size === 0) {
        p.time = time;
        p.nanos = nanos;
      }
      const nl = buf.indexOf(10);
      const room = maxLinePiece - p.size;
      const byNewline = nl >= 0 && nl < room;
      // A record ends at a newline, or is cut at the line-piece limit (the next one continues it).
      const end = byNewline ? nl + 1 : buf.length >= room ? room : 0;
      if (end === 0) {
        p.parts.push(Buffer.from(buf));
        p.size += buf.length;
        break;
      }
      p.parts.push(Buffer.from(buf.subarray(0, end)));
      this.flushPending(p);
      p.continuation = !byNewline;
      buf = buf.subarray(end);
      added = true;
    }
    if (added) this.notify();
  }

  close(): void {
    if (this.closed) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      const p = this.pending[stream];
      if (p.size > 0) this.flushPending(p);
    }
    this.closed = true;
    this.notify();
  }

  /** Stores a stream's pending bytes as one record and empties it. */
  private flushPending(p: PendingLine): void {
    this.append({ time: p.time, nanos: p.nanos, data: Buffer.concat(p.parts), continuation: p.continuation });
    p.parts = [];
    p.size = 0;
  }

  private append(piece: LogPiece): void {
    this.pieces.push(piece);
    this.bytes += piece.data.length;
    if (this.bytes > this.maxBytes) {
      // rotation: the API only reads the current file, which starts over
      this.firstIndex += this.pieces.length - 1;
      this.pieces.splice(0, this.pieces.length - 1);
      this.bytes = this.pieces[0]?.data.length ?? 0;
    }
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

export interface LogStoreOptions {
  /** The runtime's log rotation size (`containerLogMaxSize`, 10 Mi). */
  maxBytesPerRun: number;
}

export class LogStore {
  private readonly runs = new Map<string, Map<string, ContainerRun[]>>();
  private readonly options: LogStoreOptions;

  constructor(options: LogStoreOptions) {
    this.options = options;
  }

  /** A new run of a container (its first start or a restart). */
  open(podUid: string, container: string): ContainerLogWriter {
    let byContainer = this.runs.get(podUid);
    if (!byContainer) {
      byContainer = new Map();
      this.runs.set(podUid, byContainer);
    }
    let runs = byContainer.get(container);
    if (!runs) {
      runs = [];
      byContainer.set(container, runs);
    }
    const previous = runs[runs.length - 1];
    previous?.close();
    const run = new ContainerRun(this.options.maxBytesPerRun);
    runs.push(run);
    // only the current and the previous instance are kept, like the kubelet
    if (runs.length > 2) runs.splice(0, runs.length - 2);
    let lastMs = 0;
    let sub = 0;
    return {
      write: (stream, chunk, time) => {
        const ms = time.getTime();
        sub = ms === lastMs ? sub + 1 : 0;
        lastMs = ms;
        run.write(stream, chunk, ms, sub);
      },
      close: () => run.close(),
    };
  }

  current(podUid: string, container: string): ContainerRun | undefined {
    const runs = this.runs.get(podUid)?.get(container);
    return runs?.[runs.length - 1];
  }

  previous(podUid: string, container: string): ContainerRun | undefined {
    const runs = this.runs.get(podUid)?.get(container);
    return runs && runs.length >= 2 ? runs[runs.length - 2] : undefined;
  }

  /** The pod is gone: its logs go too, and every follower sees the end. */
  removePod(podUid: string): void {
    const byContainer = this.runs.get(podUid);
    if (!byContainer) return;
    this.runs.delete(podUid);
    for (const runs of byContainer.values()) for (const run of runs) run.close();
  }
}
