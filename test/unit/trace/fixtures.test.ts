// The GitLab trace fixtures (test/fixtures/gitlab/trace-examples.json) reproduced byte for byte by
// the trace pipeline: message helpers + masking + buffer + sender, and the FF_TIMESTAMPS form.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  infoLine,
  JobTrace,
  ManualClock,
  parseTimestampMicros,
  plainLine,
  runnerBanner,
  STREAM_JOB,
  sectionEnd,
  stageStart,
  stageTitle,
  TraceSender,
} from '../../../src/trace/index.ts';
import { FakeCoordinator } from './fake-coordinator.ts';

interface TraceExamples {
  plain_log: string;
  plain_log_bytesize: number;
  plain_log_checksum: string;
  plain_log_patches: {
    content_range: string;
    body_bytes: number;
    server_response: Record<string, string | number>;
  }[];
  range_mismatch_example: {
    server_has_bytes: number;
    runner_sends_content_range: string;
    server_response: { status: number; Range: string };
  };
  timestamped_segment_ff_timestamps: string;
}

const examples = JSON.parse(
  readFileSync(new URL('../../fixtures/gitlab/trace-examples.json', import.meta.url), 'utf8'),
) as TraceExamples;

const SECRET = 's3cr3t-Deploy_Token.9Xq';
const banner = runnerBanner({
  versionLine: 'gitlab-runner 18.11.4 (5b1ba4d9)',
  runnerName: 'k8s-manager-eu1',
  shortToken: '9kWmQp2xZ',
  systemId: 's_4f1c2d9e8a7b',
});
const usingImage = plainLine('Using Kubernetes executor with image registry.example.com/acme/ci/node:22 ...');
const echo = '\x1b[32;1m$ echo "token=$DEPLOY_API_TOKEN"\x1b[0;m\n';

/** The fixture's log as the runner and the build container would write it. */
function writeJob(trace: JobTrace, withEnd: boolean): void {
  const runner = trace.runner;
  runner.write(banner.split(/(?<=\n)/)[0]!);
  runner.write(banner.split(/(?<=\n)/)[1]!);
  runner.startStage('prepare_executor', 1768471200);
  runner.write(usingImage);
  runner.endStage('prepare_executor', 1768471203);
  runner.startStage('step_script', 1768471203);
  const job = trace.stream(STREAM_JOB);
  job.write(echo);
  job.write(`token=${SECRET}\n`);
  if (withEnd) {
    runner.write(sectionEnd('step_script', 1768471205));
    expect(stageStart('step_script', 1, false)).toBe(stageTitle('step_script'));
    runner.write(infoLine('Job succeeded'));
  }
}

describe('trace fixtures', () => {
  it('reproduces the plain log, its size and its checksum', () => {
    const trace = new JobTrace({ timestamps: false, phrases: [SECRET] });
    writeJob(trace, true);
    trace.finish();
    const bytes = Buffer.from(trace.buffer.bytes(0, trace.buffer.size));
    expect(bytes.toString('utf8')).toBe(examples.plain_log);
    expect(trace.buffer.size).toBe(examples.plain_log_bytesize);
    expect(trace.buffer.checksum).toBe(examples.plain_log_checksum);
  });

  it('reproduces the FF_TIMESTAMPS segment with the clock read once per record header', () => {
    const stamps = [...examples.timestamped_segment_ff_timestamps.matchAll(/^(\S+Z) /gm)].map((m) =>
      parseTimestampMicros(m[1]!),
    );
    let next = 0;
    const trace = new JobTrace({ timestamps: true, phrases: [SECRET], clock: () => stamps[next++]! });
    writeJob(trace, false);
    expect(next).toBe(stamps.length);
    const bytes = Buffer.from(trace.buffer.bytes(0, trace.buffer.size)).toString('utf8');
    expect(bytes).toBe(examples.timestamped_segment_ff_timestamps);
  });

  it('sends the plain log as the two PATCHes of the fixture when it arrives across two ticks', async () => {
    const clock = new ManualClock();
    const gitlab = new FakeCoordinator(() => clock.now());
    gitlab.updateIntervalSeconds = 60;
    const trace = new JobTrace({ timestamps: false, phrases: [SECRET] });
    const sender = new TraceSender({
      coordinator: gitlab,
      jobId: 1,
      jobToken: 't',
      source: trace.buffer,
      clock,
      // upstream's cadence: the second part arrives after 3 s of quiet, which podrunner sends promptly
      promptDelayMs: 0,
    });
    sender.start();
    const log = Buffer.from(examples.plain_log, 'utf8');
    const first = examples.plain_log_patches[0]!.body_bytes;
    trace.runner.write(log.subarray(0, first));
    await clock.advance(3000);
    trace.runner.write(log.subarray(first));
    await clock.advance(60_000);
    expect(gitlab.patches.map((p) => [p.contentRange, p.length])).toEqual(
      examples.plain_log_patches.map((p) => [p.content_range, p.body_bytes]),
    );
    expect(gitlab.patches.map((p) => p.at)).toEqual([3000, 63_000]);
    trace.finish();
    const outcome = await sender.finish('success');
    expect(outcome.result).toBe('completed');
    expect(gitlab.trace.toString('utf8')).toBe(examples.plain_log);
    expect(gitlab.updates.at(-1)?.update).toEqual({
      state: 'success',
      output: { checksum: examples.plain_log_checksum, bytesize: examples.plain_log_bytesize },
    });
  });

  it('resumes at the Range of a 416 as in the range-mismatch example', async () => {
    const example = examples.range_mismatch_example;
    const clock = new ManualClock();
    const gitlab = new FakeCoordinator(() => clock.now());
    const log = Buffer.from(examples.plain_log, 'utf8');
    gitlab.trace = Buffer.from(log.subarray(0, example.server_has_bytes));
    const trace = new JobTrace({ timestamps: false });
    trace.runner.write(log);
    const sender = new TraceSender({
      coordinator: gitlab,
      jobId: 1,
      jobToken: 't',
      source: trace.buffer,
      clock,
      serverLength: 322,
    });
    sender.start();
    await clock.advance(3000);
    expect(gitlab.patches[0]?.contentRange.split('-')[0]).toBe(
      example.runner_sends_content_range.split('-')[0],
    );
    expect(sender.sentOffset).toBe(Number(example.server_response.Range.split('-')[1]));
    await clock.advance(3000);
    expect(gitlab.patches[1]?.offset).toBe(example.server_has_bytes);
    expect(gitlab.trace.equals(log)).toBe(true);
    await sender.stop();
  });
});
