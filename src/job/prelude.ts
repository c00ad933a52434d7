// The manager's own lines before and after the containers' output. Pure functions of recorded facts
// and the pod's status, so that replaying a job (adoption) writes the same bytes.
import type { JobTrace } from '../trace/job-trace.ts';
import { infoLine, plainLine, runnerBanner, warningLine } from '../trace/messages.ts';
import type { TimestampMicros } from '../trace/timestamper.ts';
import type { JobRecord } from './job-record.ts';

export interface PreludeFacts {
  record: JobRecord;
  namespace: string;
  podName: string;
  image: string;
  traceSections: boolean;
}

const seconds = (micros: number) => Math.floor(micros / 1_000_000);

/** From `Running with …` to the open `prepare_script` section. */
export function writePrelude(trace: JobTrace, f: PreludeFacts): void {
  const at: TimestampMicros = f.record.acceptedAtMicros;
  const runner = trace.runner;
  runner.write(
    runnerBanner({
      versionLine: `podrunner ${f.record.version} (${f.record.revision})`,
      runnerName: f.record.runnerName,
      shortToken: f.record.shortToken,
      systemId: f.record.systemId,
    }),
    at,
  );
  runner.startStage('prepare_executor', seconds(at), f.traceSections, at);
  runner.write(plainLine(`Using Kubernetes namespace: ${f.namespace}`), at);
  runner.write(plainLine(`Using Kubernetes executor with image ${f.image} ...`), at);
  for (const line of f.record.renderLog) {
    runner.write(line.startsWith('WARNING: ') ? warningLine(line.slice(9)) : plainLine(line), at);
  }
  runner.endStage('prepare_executor', seconds(at), f.traceSections, at);
  runner.startStage('prepare_script', seconds(at), f.traceSections, at);
  runner.write(plainLine(`Waiting for pod ${f.namespace}/${f.podName} to be running...`), at);
}

/** Closes `prepare_script` once the pod runs; `at` is the helper container's start. */
export function writePodRunning(trace: JobTrace, f: PreludeFacts, at: TimestampMicros): void {
  const runner = trace.runner;
  runner.write(plainLine(`Running on ${f.podName} via ${f.record.hostname}...`), at);
  runner.endStage('prepare_script', seconds(at), f.traceSections, at);
}

/** Warnings about services (restarts, OOM kills) and the job's last lines. */
export function writePostlude(
  trace: JobTrace,
  lines: { warnings: string[]; timing: string; final: string },
  at: TimestampMicros,
): void {
  const runner = trace.runner;
  for (const w of lines.warnings) runner.write(warningLine(w), at);
  runner.write(lines.timing, at);
  runner.write(lines.final, at);
}

export const JOB_SUCCEEDED_LINE = infoLine('Job succeeded');
