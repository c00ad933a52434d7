// One job's trace pipeline: each output stream (runner messages, job output, each service) has its
// own masker and, with FF_TIMESTAMPS, its own timestamper; all streams feed one TraceBuffer
// (UTF-8 repair, output_limit, CRC-32). Order per stream as upstream: mask phrases → URL parameters
// → token prefixes → timestamps → buffer.

import { type MaskingOptions, type MaskingPlan, maskingPlan, StreamMasker } from './masking.ts';
import { type StageName, sectionEnd, sectionStart, stageTitle } from './messages.ts';
import { STREAM_RUNNER, type StreamType, Timestamper, type TimestampMicros } from './timestamper.ts';
import { TraceBuffer } from './trace-buffer.ts';

export interface JobTraceOptions extends MaskingOptions {
  /** FF_TIMESTAMPS (default on since R18.7; resolve it with `resolveFeatureFlag`). */
  timestamps: boolean;
  /** `output_limit * 1024`; 0 or missing → 4 MiB. */
  outputLimitBytes?: number;
  /** Where record headers get their time when a write carries none; default: the system clock. */
  clock?: () => TimestampMicros;
}

const systemMicros = (): TimestampMicros => Date.now() * 1000;

export class TraceStream {
  private readonly buffer: TraceBuffer;
  private readonly masker: StreamMasker;
  private readonly timestamper: Timestamper | null;
  private ended = false;

  constructor(
    buffer: TraceBuffer,
    plan: MaskingPlan,
    streamNumber: number,
    streamType: StreamType,
    timestamps: boolean,
    clock: () => TimestampMicros,
  ) {
    this.buffer = buffer;
    this.masker = new StreamMasker(plan);
    this.timestamper = timestamps
      ? new Timestamper((bytes) => buffer.write(bytes), streamNumber, streamType, clock)
      : null;
  }

  /**
   * Appends output. `at` (µs since the epoch, e.g. the kubelet's timestamp of this log line) stamps
   * the records this write opens, so replaying the same input gives the same bytes.
   */
  write(chunk: Uint8Array | string, at?: TimestampMicros): void {
    if (this.ended) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.pass(this.masker.write(bytes), at);
  }

  /**
   * Opens a stage like upstream: the section marker and the cyan title as two writes (with
   * FF_TIMESTAMPS the marker's `\r` then splits it over a `+` record, as in gitlab-runner's logs).
   */
  startStage(stage: StageName, unixSeconds: number, traceSections = true, at?: TimestampMicros): void {
    if (traceSections) this.write(sectionStart(stage, unixSeconds), at);
    this.write(stageTitle(stage), at);
  }

  endStage(stage: StageName, unixSeconds: number, traceSections = true, at?: TimestampMicros): void {
    if (traceSections) this.write(sectionEnd(stage, unixSeconds), at);
  }

  /** Releases what the masker holds back and closes a partial timestamped line. */
  end(at?: TimestampMicros): void {
    if (this.ended) return;
    this.ended = true;
    this.pass(this.masker.end(), at);
    this.timestamper?.close();
  }

  private pass(bytes: Uint8Array, at?: TimestampMicros): void {
    if (bytes.length === 0) return;
    if (this.timestamper) this.timestamper.write(bytes, at);
    else this.buffer.write(bytes);
  }
}

export class JobTrace {
  readonly buffer: TraceBuffer;
  private readonly options: JobTraceOptions;
  private readonly plan: MaskingPlan;
  private readonly streams = new Map<string, TraceStream>();

  constructor(options: JobTraceOptions) {
    this.options = options;
    this.buffer = new TraceBuffer({ limitBytes: options.outputLimitBytes ?? 0 });
    this.plan = maskingPlan(options);
  }

  /** The stream for `number` (00 runner, 01 job output, 0f+ services) and `type`; one per pair per job. */
  stream(number: number, type: StreamType = 'O'): TraceStream {
    const key = `${number}:${type}`;
    let stream = this.streams.get(key);
    if (!stream) {
      stream = new TraceStream(
        this.buffer,
        this.plan,
        number,
        type,
        this.options.timestamps,
        this.options.clock ?? systemMicros,
      );
      this.streams.set(key, stream);
    }
    return stream;
  }

  /** Stream 00 stdout: the manager's own messages and stage sections. */
  get runner(): TraceStream {
    return this.stream(STREAM_RUNNER, 'O');
  }

  /** Frees the buffer's spool file once the trace was sent (or will never be). */
  dispose(): void {
    this.buffer.dispose();
  }

  /** Ends every stream (in the order they were opened), then the buffer. Nothing is written after. */
  finish(at?: TimestampMicros): void {
    for (const stream of this.streams.values()) stream.end(at);
    this.buffer.finish();
  }
}
