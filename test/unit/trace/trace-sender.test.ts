import { describe, expect, it } from 'vitest';
import {
  type AbortInfo,
  JobTrace,
  ManualClock,
  STREAM_JOB,
  TraceBuffer,
  TraceSender,
  type TraceSenderOptions,
} from '../../../src/trace/index.ts';
import { FakeCoordinator } from './fake-coordinator.ts';

const MiB = 1024 * 1024;

function setup(overrides: Partial<TraceSenderOptions> = {}) {
  const clock = new ManualClock();
  const gitlab = new FakeCoordinator(() => clock.now());
  const buffer = new TraceBuffer({ limitBytes: 64 * MiB });
  const sender = new TraceSender({
    coordinator: gitlab,
    jobId: 42,
    jobToken: 'glcbt-job',
    source: buffer,
    clock,
    ...overrides,
  });
  const events: string[] = [];
  const aborts: AbortInfo[] = [];
  sender.on('cancel', () => events.push('cancel'));
  sender.on('abort', (info) => {
    events.push('abort');
    aborts.push(info);
  });
  return { clock, gitlab, buffer, sender, events, aborts };
}

describe('TraceSender: incremental PATCHes', () => {
  it('sends one PATCH per tick from the sent offset, first after 3 s, then at the interval GitLab asks', async () => {
    // upstream's cadence: no prompt PATCH for output after a quiet spell
    const { clock, gitlab, buffer, sender } = setup({ debugTrace: true, promptDelayMs: 0 });
    gitlab.updateIntervalSeconds = 10;
    sender.start();
    buffer.write('first\n');
    await clock.advance(2999);
    expect(gitlab.patches).toHaveLength(0);
    await clock.advance(1);
    buffer.write('second\n');
    await clock.advance(9999);
    expect(gitlab.patches.map((p) => [p.at, p.contentRange, p.debugTrace])).toEqual([[3000, '0-5', true]]);
    await clock.advance(1);
    expect(gitlab.patches.map((p) => [p.at, p.contentRange])).toEqual([
      [3000, '0-5'],
      [13_000, '6-12'],
    ]);
    expect(sender.updateIntervalMs).toBe(10_000);
    await clock.advance(30_000);
    expect(gitlab.patches).toHaveLength(2); // nothing new, nothing sent
    expect(gitlab.trace.toString()).toBe('first\nsecond\n');
    await sender.stop();
  });

  it('caps the interval at 15 minutes and the PATCH at 1 MiB', async () => {
    const { clock, gitlab, buffer, sender } = setup();
    gitlab.updateIntervalSeconds = 3600;
    buffer.write(Buffer.alloc(2 * MiB + 10, 0x61));
    sender.start();
    await clock.advance(3000);
    await clock.advance(15 * 60_000);
    await clock.advance(15 * 60_000);
    expect(gitlab.patches.map((p) => [p.offset, p.length])).toEqual([
      [0, MiB],
      [MiB, MiB],
      [2 * MiB, 10],
    ]);
    expect(gitlab.patches.map((p) => p.at)).toEqual([3000, 3000 + 900_000, 3000 + 1_800_000]);
    await sender.stop();
  });

  it('resumes at the server length after a 416 and retries a 404 on the next tick', async () => {
    const { clock, gitlab, buffer, sender } = setup();
    buffer.write('0123456789');
    gitlab.trace = Buffer.from('0123');
    sender.resumeAt(8);
    gitlab.scriptedPatches.push({ kind: 'range-mismatch', serverLength: 4 });
    sender.start();
    await clock.advance(3000);
    expect(sender.sentOffset).toBe(4);
    gitlab.scriptedPatches.push({ kind: 'not-found' });
    await clock.advance(3000);
    expect(sender.sentOffset).toBe(4);
    await clock.advance(3000);
    expect(gitlab.patches.map((p) => p.contentRange)).toEqual(['8-9', '4-9', '4-9']);
    expect(gitlab.trace.toString()).toBe('0123456789');
    await sender.stop();
  });

  it('keeps going after transport errors and failed answers', async () => {
    const { clock, gitlab, buffer, sender } = setup();
    buffer.write('abc');
    gitlab.scriptedPatches.push({ kind: 'failed', status: 500, error: 'boom' });
    gitlab.patchTrace = ((orig) =>
      async function (this: FakeCoordinator, ...args: Parameters<FakeCoordinator['patchTrace']>) {
        if (gitlab.patches.length === 1) {
          gitlab.patches.push({
            offset: -1,
            length: 0,
            contentRange: 'throw',
            debugTrace: false,
            at: clock.now(),
          });
          throw new Error('ECONNRESET');
        }
        return orig.apply(gitlab, args);
      })(gitlab.patchTrace);
    sender.start();
    await clock.advance(9000);
    expect(gitlab.patches.map((p) => p.contentRange)).toEqual(['0-2', 'throw', '0-2']);
    expect(gitlab.trace.toString()).toBe('abc');
    await sender.stop();
  });

  it('emits cancel once on Job-Status: canceling and keeps sending', async () => {
    const { clock, gitlab, buffer, sender, events } = setup();
    gitlab.jobStatus = 'canceling';
    sender.start();
    buffer.write('a');
    await clock.advance(3000);
    buffer.write('b');
    await clock.advance(3000);
    expect(events).toEqual(['cancel']);
    expect(sender.cancelRequested).toBe(true);
    expect(gitlab.trace.toString()).toBe('ab');
    await sender.stop();
  });

  it('emits abort on 403 / Job-Status: canceled and stops sending', async () => {
    const { clock, gitlab, buffer, sender, events, aborts } = setup();
    sender.start();
    buffer.write('a');
    gitlab.scriptedPatches.push({ kind: 'abort', status: 403, jobStatus: 'canceled' });
    await clock.advance(3000);
    buffer.write('b');
    await clock.advance(60_000);
    expect(events).toEqual(['abort']);
    expect(aborts).toEqual([{ source: 'patch', status: 403, jobStatus: 'canceled' }]);
    expect(gitlab.patches).toHaveLength(1);
    expect(clock.pending).toBe(0);
    const outcome = await sender.finish('failed', 'script_failure', 1);
    expect(outcome.result).toBe('aborted');
    expect(gitlab.updates).toHaveLength(0);
  });

  it('sends a keep-alive PUT with checksum and size when nothing succeeded for 30 s', async () => {
    const { clock, gitlab, buffer, sender, events } = setup();
    buffer.write('hello');
    gitlab.scriptedPatches.push(
      { kind: 'failed', error: 'x' },
      ...Array.from({ length: 20 }, () => ({ kind: 'failed' as const, error: 'x' })),
    );
    sender.start();
    await clock.advance(30_000);
    expect(gitlab.updates).toHaveLength(0); // failed PATCHes do not touch the job
    gitlab.scriptedPatches.length = 0;
    await clock.advance(3000);
    expect(gitlab.trace.toString()).toBe('hello');
    expect(gitlab.updates).toHaveLength(0); // the PATCH just succeeded
    await clock.advance(30_000);
    expect(gitlab.updates).toHaveLength(0);
    await clock.advance(3000); // 33 s after the last success, on a tick with nothing to send
    expect(gitlab.updates.map((u) => [u.at, u.update])).toEqual([
      [66_000, { state: 'running', output: { checksum: buffer.checksum, bytesize: 5 } }],
    ]);
    gitlab.jobStatus = 'canceling';
    await clock.advance(36_000);
    expect(events).toEqual(['cancel']);
    gitlab.jobStatus = 'canceled';
    await clock.advance(36_000);
    expect(events).toEqual(['cancel', 'abort']);
    await sender.stop();
  });

  it('with FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL keeps alive at 4 × the update interval', async () => {
    for (const dynamic of [false, true]) {
      const { clock, gitlab, buffer, sender } = setup({ dynamicForceSendInterval: dynamic });
      gitlab.updateIntervalSeconds = 60;
      buffer.write('x');
      sender.start();
      await clock.advance(3000); // the PATCH answers with a 60 s interval
      await clock.advance(60_000);
      expect(gitlab.updates.map((u) => u.at)).toEqual(dynamic ? [] : [63_000]);
      if (dynamic) {
        await clock.advance(180_000);
        expect(gitlab.updates).toHaveLength(0); // 240 s after the last success: not yet
        await clock.advance(60_000);
        expect(gitlab.updates.map((u) => u.at)).toEqual([303_000]);
        await clock.advance(300_000);
        expect(gitlab.updates.map((u) => u.at)).toEqual([303_000, 603_000]);
      }
      await sender.stop();
    }
  });
});

describe('TraceSender: prompt PATCHes for news', () => {
  it('sends the first output of the job after the coalescing delay, then keeps to the interval', async () => {
    const { clock, gitlab, buffer, sender } = setup();
    gitlab.updateIntervalSeconds = 60;
    sender.start();
    buffer.write('Running with podrunner\n'); // the prelude: no hurry
    await clock.advance(1000);
    expect(gitlab.patches).toHaveLength(0);
    buffer.write('helper output\n');
    sender.flushSoon();
    await clock.advance(150);
    buffer.write('more helper output\n'); // joins the same PATCH
    await clock.advance(50);
    expect(gitlab.patches.map((p) => [p.at, p.offset])).toEqual([[1200, 0]]);
    expect(gitlab.trace.toString()).toBe('Running with podrunner\nhelper output\nmore helper output\n');
    // Steady output (a line a second): GitLab's interval, counted from the last PATCH, rules again.
    for (let i = 0; i < 70; i++) {
      buffer.write(`line ${i}\n`);
      await clock.advance(1000);
    }
    expect(gitlab.patches.map((p) => p.at)).toEqual([1200, 61_200]);
    expect(sender.patchCount).toBe(2);
    await sender.stop();
  });

  it('sends output after a quiet spell promptly, at most once per quiet period', async () => {
    const { clock, gitlab, buffer, sender } = setup();
    gitlab.updateIntervalSeconds = 60;
    sender.start();
    buffer.write('a\n');
    await clock.advance(3000); // the first tick
    expect(gitlab.patches.map((p) => p.at)).toEqual([3000]);
    await clock.advance(10_000);
    buffer.write('after ten quiet seconds\n');
    await clock.advance(199);
    expect(gitlab.patches).toHaveLength(1);
    await clock.advance(1);
    expect(gitlab.patches.map((p) => p.at)).toEqual([3000, 13_200]);
    await clock.advance(2600); // 15 800
    buffer.write('b\n'); // 2.8 s after the last write: not news
    await clock.advance(3500); // 19 300
    buffer.write('c\n'); // 3.5 s after the last write: news, sent 200 ms later
    await clock.advance(200);
    expect(gitlab.patches.map((p) => [p.at, p.offset])).toEqual([
      [3000, 0],
      [13_200, 2],
      [19_500, 26],
    ]);
    expect(gitlab.trace.toString()).toBe('a\nafter ten quiet seconds\nb\nc\n');
    await sender.stop();
  });

  it('sends news no sooner than the quiet period after the previous PATCH', async () => {
    const { clock, gitlab, buffer, sender } = setup();
    gitlab.updateIntervalSeconds = 60;
    sender.start();
    buffer.write('a\n');
    await clock.advance(4000); // the first tick sent 'a' at 3000
    buffer.write('news\n'); // 4 s after the last write
    await clock.advance(1999);
    expect(gitlab.patches.map((p) => p.at)).toEqual([3000]);
    await clock.advance(1);
    expect(gitlab.patches.map((p) => [p.at, p.offset])).toEqual([
      [3000, 0],
      [6000, 2],
    ]);
    await sender.stop();
  });

  it('keeps a small gap after the previous PATCH, and does not wait past the next tick', async () => {
    const { clock, gitlab, buffer, sender } = setup({ minPatchGapMs: 250 });
    sender.start();
    buffer.write('prelude\n');
    await clock.advance(3000);
    expect(gitlab.patches.map((p) => p.at)).toEqual([3000]);
    await clock.advance(10);
    buffer.write('first output\n');
    sender.flushSoon(); // 200 ms would be 3210; the gap after the 3000 PATCH is not over before 3250
    await clock.advance(239);
    expect(gitlab.patches).toHaveLength(1);
    await clock.advance(1);
    expect(gitlab.patches.map((p) => p.at)).toEqual([3000, 3250]);
    // A prompt PATCH asked for when the regular tick comes sooner: the tick sends it.
    const quick = setup({ updateIntervalMs: 100 });
    quick.sender.start();
    quick.buffer.write('x');
    quick.sender.flushSoon();
    await quick.clock.advance(100);
    expect(quick.gitlab.patches.map((p) => p.at)).toEqual([100]);
    await quick.clock.advance(300);
    expect(quick.gitlab.patches).toHaveLength(1);
    await quick.sender.stop();
    await sender.stop();
  });

  it('asks for nothing once stopped or finishing, and the final flush does not wait', async () => {
    const { clock, gitlab, buffer, sender } = setup();
    sender.start();
    buffer.write('x\n');
    buffer.finish();
    const done = sender.finish('success');
    sender.flushSoon();
    expect(await done).toEqual({ result: 'completed', attempts: 1 });
    expect(gitlab.patches.map((p) => p.at)).toEqual([0]);
    expect(gitlab.updates.map((u) => u.at)).toEqual([0]);
    await clock.advance(10_000);
    expect(gitlab.patches).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });
});

describe('TraceSender: finish', () => {
  it('flushes everything back to back, then sends the final PUT', async () => {
    const { clock, gitlab, buffer, sender } = setup();
    buffer.write(Buffer.alloc(3 * MiB, 0x62));
    sender.start();
    buffer.finish();
    const outcome = await sender.finish('success');
    expect(outcome).toEqual({ result: 'completed', attempts: 1 });
    expect(gitlab.patches.map((p) => [p.offset, p.at])).toEqual([
      [0, 0],
      [MiB, 0],
      [2 * MiB, 0],
    ]);
    expect(gitlab.updates.map((u) => u.update)).toEqual([
      { state: 'success', output: { checksum: buffer.checksum, bytesize: 3 * MiB } },
    ]);
    expect(clock.pending).toBe(0);
  });

  it('maps the failure reason against the server list and omits a zero exit code', async () => {
    const a = setup({ supportedFailureReasons: ['unknown_failure', 'script_failure'] });
    await a.sender.finish('failed', 'image_pull_failure', 0);
    expect(a.gitlab.updates[0]?.update).toEqual({
      state: 'failed',
      failureReason: 'runner_system_failure',
      output: { checksum: 'crc32:00000000', bytesize: 0 },
    });
    const b = setup({ supportedFailureReasons: ['script_failure'] });
    await b.sender.finish('failed', 'job_canceled', 143);
    expect(b.gitlab.updates[0]?.update).toMatchObject({ failureReason: 'unknown_failure', exitCode: 143 });
    const c = setup();
    await c.sender.finish('failed', undefined, 2);
    expect(c.gitlab.updates[0]?.update).toMatchObject({ failureReason: 'script_failure', exitCode: 2 });
  });

  it('repeats the final PUT after the interval of a 202, flushing in between', async () => {
    const { clock, gitlab, buffer, sender } = setup();
    buffer.write('done');
    gitlab.scriptedUpdates.push(
      { kind: 'accepted', retryAfterSeconds: 1 },
      { kind: 'accepted', retryAfterSeconds: 2 },
    );
    const finished = sender.finish('success');
    await clock.advance(0);
    buffer.write('+late'); // output that reached the buffer after the first final PUT
    await clock.advance(1000);
    await clock.advance(2000);
    expect(await finished).toEqual({ result: 'completed', attempts: 1 });
    expect(gitlab.updates.map((u) => [u.at, u.update.output?.bytesize])).toEqual([
      [0, 4],
      [1000, 9],
      [3000, 9],
    ]);
    expect(gitlab.trace.toString()).toBe('done+late');
  });

  it('resends the whole trace from offset 0 after a 412', async () => {
    const { clock, gitlab, buffer, sender } = setup();
    buffer.write('whole trace');
    gitlab.scriptedUpdates.push({ kind: 'trace-reset' });
    const finished = sender.finish('success');
    await clock.advance(0);
    gitlab.trace = Buffer.alloc(0); // the server dropped what it had when it answered 412
    await clock.runUntil(() => gitlab.updates.length === 2);
    expect(await finished).toMatchObject({ result: 'completed' });
    expect(gitlab.patches.map((p) => p.contentRange)).toEqual(['0-10', '0-10']);
    expect(gitlab.trace.toString()).toBe('whole trace');
  });

  it('reads spooled bytes back for a 412 and for a 416 that goes backwards', async () => {
    const { clock, gitlab, buffer, sender } = setup();
    const data = Buffer.from(Array.from({ length: 600_000 }, (_, i) => 0x41 + ((i * 13) % 26)));
    for (let i = 0; i < data.length; i += 4096) buffer.write(data.subarray(i, i + 4096));
    expect(buffer.memorySize).toBeLessThan(64 * 1024); // the rest went to the spool file
    sender.start();
    await clock.advance(3000);
    expect(gitlab.patches.map((p) => [p.offset, p.length])).toEqual([[0, 600_000]]);
    expect(buffer.memorySize).toBeLessThanOrEqual(8 * 1024); // acknowledged: out of memory
    // GitLab lost the second half: a 416 with a shorter Range sends it again, read from the file.
    gitlab.trace = gitlab.trace.subarray(0, 300_000);
    buffer.write('tail');
    await clock.advance(3000);
    await clock.advance(3000);
    expect(gitlab.patches.slice(1).map((p) => [p.offset, p.length])).toEqual([
      [600_000, 4],
      [300_000, 300_004],
    ]);
    expect(gitlab.trace.equals(Buffer.concat([data, Buffer.from('tail')]))).toBe(true);
    // The final PUT answered 412: the whole trace again from offset 0.
    buffer.finish();
    gitlab.scriptedUpdates.push({ kind: 'trace-reset' });
    const finished = sender.finish('success');
    await clock.advance(0);
    gitlab.trace = Buffer.alloc(0);
    await clock.runUntil(() => gitlab.updates.length === 2);
    expect(await finished).toMatchObject({ result: 'completed' });
    expect(gitlab.trace.equals(Buffer.concat([data, Buffer.from('tail')]))).toBe(true);
    expect(gitlab.updates.at(-1)?.update.output).toEqual({ checksum: buffer.checksum, bytesize: 600_004 });
    buffer.dispose();
  });

  it('retries failed final updates with doubling backoff up to the limit', async () => {
    const { clock, gitlab, sender } = setup({ finalUpdateRetryLimit: 4, finalUpdateBackoffMaxMs: 3000 });
    for (let i = 0; i < 10; i++)
      gitlab.scriptedUpdates.push({ kind: 'failed', status: 502, error: 'bad gateway' });
    const finished = sender.finish('success');
    await clock.runUntil(() => gitlab.updates.length === 4);
    const outcome = await finished;
    expect(outcome).toMatchObject({ result: 'failed', attempts: 4 });
    expect(gitlab.updates.map((u) => u.at)).toEqual([0, 1000, 3000, 6000]);
  });

  it('succeeds on a later attempt, and ends silently when GitLab aborts', async () => {
    const a = setup();
    a.gitlab.scriptedUpdates.push({ kind: 'failed', error: 'ECONNREFUSED' });
    const first = a.sender.finish('success');
    await a.clock.runUntil(() => a.gitlab.updates.length === 2);
    expect(await first).toEqual({ result: 'completed', attempts: 2 });

    const b = setup();
    b.buffer.write('x');
    b.gitlab.scriptedUpdates.push({ kind: 'abort', status: 403, jobStatus: 'canceled' });
    expect(await b.sender.finish('failed', 'script_failure', 1)).toEqual({ result: 'aborted', attempts: 1 });
    expect(b.events).toEqual([]);
    expect(b.clock.pending).toBe(0);
  });

  it('sends the final update once however often finish is called', async () => {
    const { gitlab, buffer, sender } = setup();
    buffer.write('x');
    const [a, b] = await Promise.all([
      sender.finish('success'),
      sender.finish('failed', 'script_failure', 1),
    ]);
    expect(a).toEqual(b);
    expect(gitlab.updates.map((u) => u.update.state)).toEqual(['success']);
  });

  it('stops flushing on a 404 and still sends the final PUT', async () => {
    const { gitlab, buffer, sender } = setup();
    buffer.write('abc');
    gitlab.scriptedPatches.push({ kind: 'not-found' });
    expect(await sender.finish('success')).toMatchObject({ result: 'completed' });
    expect(gitlab.patches).toHaveLength(1);
    expect(gitlab.updates).toHaveLength(1);
  });
});

describe('TraceSender: adoption by a restarted manager', () => {
  /** The job's output as the log follower replays it: same bytes, same kubelet timestamps. */
  function replay(trace: JobTrace, upTo: number): void {
    const stream = trace.stream(STREAM_JOB);
    for (let i = 0; i < upTo; i++)
      stream.write(`line ${i} ${'x'.repeat(i % 50)}\n`, 1_768_471_200_000_000 + i * 1000);
  }

  it('skips what GitLab already holds, so each byte reaches the trace exactly once and in order', async () => {
    const clock = new ManualClock();
    const gitlab = new FakeCoordinator(() => clock.now());

    // The first manager sends part of the log, then is killed (no final update).
    const first = new JobTrace({ timestamps: true, phrases: ['secret-value-1'] });
    const sender1 = new TraceSender({
      coordinator: gitlab,
      jobId: 1,
      jobToken: 't',
      source: first.buffer,
      clock,
    });
    sender1.start();
    replay(first, 300);
    await clock.advance(3000);
    const held = gitlab.trace.length;
    expect(held).toBeGreaterThan(0);
    await sender1.stop();

    // The restarted manager regenerates the whole trace from the start and resumes where GitLab is.
    const second = new JobTrace({ timestamps: true, phrases: ['secret-value-1'] });
    const sender2 = new TraceSender({
      coordinator: gitlab,
      jobId: 1,
      jobToken: 't',
      source: second.buffer,
      clock,
      serverLength: held,
    });
    sender2.start();
    replay(second, 1000);
    await clock.advance(3000);
    second.finish();
    expect(await sender2.finish('success')).toMatchObject({ result: 'completed' });

    // The uninterrupted reference trace.
    const reference = new JobTrace({ timestamps: true, phrases: ['secret-value-1'] });
    replay(reference, 1000);
    reference.finish();
    const expected = Buffer.from(reference.buffer.bytes(0, reference.buffer.size));
    expect(gitlab.trace.equals(expected)).toBe(true);
    expect(gitlab.patches.map((p) => [p.offset, p.at])).toEqual([
      [0, 3000],
      [held, 6000],
    ]);
    expect(gitlab.updates.at(-1)?.update.output).toEqual({
      checksum: reference.buffer.checksum,
      bytesize: reference.buffer.size,
    });
  });

  it('learns the server length from a 416 when it starts without one', async () => {
    const clock = new ManualClock();
    const gitlab = new FakeCoordinator(() => clock.now());
    gitlab.trace = Buffer.from('already here\n');
    const trace = new JobTrace({ timestamps: false });
    trace.runner.write('already here\nand the rest\n');
    const sender = new TraceSender({
      coordinator: gitlab,
      jobId: 1,
      jobToken: 't',
      source: trace.buffer,
      clock,
    });
    trace.finish();
    const finished = sender.finish('success');
    await clock.runUntil(() => gitlab.updates.length === 1);
    expect(await finished).toMatchObject({ result: 'completed' });
    expect(gitlab.trace.toString()).toBe('already here\nand the rest\n');
    expect(gitlab.patches.map((p) => p.contentRange)).toEqual(['0-25', '13-25']);
  });
});
