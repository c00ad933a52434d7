import { describe, expect, it } from 'vitest';
import {
  errorLine,
  FAILURE_REASON_FALLBACKS,
  formatDuration,
  formatGoDuration,
  formatTimeBreakdown,
  infoLine,
  JOB_ERRORS,
  type JobErrorCode,
  jobFailure,
  mapFailureReason,
  parseGoBool,
  plainLine,
  resolveFeatureFlag,
  sectionEnd,
  sectionStart,
  stageDescription,
  stageEnd,
  stageStart,
  timeBreakdownLine,
  warningLine,
} from '../../../src/trace/index.ts';

describe('section markers and runner messages', () => {
  it('formats markers with options in upstream order', () => {
    expect(sectionStart('get_sources', 1768471200)).toBe('section_start:1768471200:get_sources\r\x1b[0K');
    expect(sectionStart('section_script_step_0', 5.9, { collapsed: true, hideDuration: true })).toBe(
      'section_start:5:section_script_step_0[hide_duration=true,collapsed=true]\r\x1b[0K',
    );
    expect(sectionStart('x', 1, { collapsed: true })).toBe('section_start:1:x[collapsed=true]\r\x1b[0K');
    expect(sectionEnd('get_sources', 1768471203)).toBe('section_end:1768471203:get_sources\r\x1b[0K');
  });

  it('styles plain, info, warning and error lines like gitlab-runner', () => {
    expect(plainLine('Using Kubernetes executor')).toBe('\x1b[0KUsing Kubernetes executor\x1b[0;m\n');
    expect(infoLine('Job succeeded')).toBe('\x1b[32;1mJob succeeded\x1b[0;m\n');
    expect(warningLine('careful')).toBe('\x1b[0;33mWARNING: careful\x1b[0;m\n');
    expect(errorLine('Job failed: canceled')).toBe('\x1b[31;1mERROR: Job failed: canceled\x1b[0;m\n');
  });

  it('titles stages like upstream and omits markers without trace sections', () => {
    expect(stageDescription('step_script')).toBe('Executing "step_script" stage of the job script');
    expect(stageDescription('step_release')).toBe('Executing "step_release" stage of the job script');
    expect(stageDescription('after_script')).toBe('Running after_script');
    expect(stageDescription('prepare_executor')).toBe('Preparing the "kubernetes" executor');
    expect(stageDescription('upload_artifacts_on_failure')).toBe('Uploading artifacts for failed job');
    expect(stageStart('get_sources', 7)).toBe(
      'section_start:7:get_sources\r\x1b[0K\x1b[0K\x1b[36;1mGetting source from Git repository\x1b[0;m\x1b[0;m\n',
    );
    expect(stageStart('get_sources', 7, false)).toBe(
      '\x1b[0K\x1b[36;1mGetting source from Git repository\x1b[0;m\x1b[0;m\n',
    );
    expect(stageEnd('get_sources', 9, false)).toBe('');
  });
});

describe('failure reasons and the job error catalogue', () => {
  it('sends known reasons as they are and falls back for older servers', () => {
    expect(mapFailureReason('image_pull_failure', ['image_pull_failure'])).toBe('image_pull_failure');
    expect(mapFailureReason('image_pull_failure', [])).toBe('runner_system_failure');
    expect(mapFailureReason('runner_configuration_error', [])).toBe('script_failure');
    expect(mapFailureReason('job_canceled', ['unknown_failure'])).toBe('unknown_failure');
    expect(mapFailureReason('', [])).toBe('script_failure');
    expect(mapFailureReason(undefined, [])).toBe('script_failure');
    expect(mapFailureReason('job_execution_timeout', [])).toBe('job_execution_timeout');
    for (const target of Object.values(FAILURE_REASON_FALLBACKS))
      expect(mapFailureReason(target, [])).toBe(target);
  });

  it('gives every code a failure reason and a message', () => {
    const codes = Object.keys(JOB_ERRORS) as JobErrorCode[];
    expect(codes.length).toBeGreaterThan(10);
    for (const code of codes) {
      const failure = jobFailure(code, {});
      expect(failure.failureReason, code).toMatch(/^[a-z_]+$/);
      expect(failure.message, code).toMatch(/^Job failed( \(system failure\))?: \S/);
      expect(failure.logLine, code).toBe(`\x1b[31;1mERROR: ${failure.message}\x1b[0;m\n`);
    }
  });

  it("words failures like gitlab-runner's final line", () => {
    expect(jobFailure('SCRIPT_FAILED', { exitCode: 3 })).toMatchObject({
      failureReason: 'script_failure',
      exitCode: 3,
      message: 'Job failed: command terminated with exit code 3',
    });
    expect(jobFailure('JOB_TIMEOUT', { timeoutSeconds: 3600 }).message).toBe(
      'Job failed: execution took longer than 1h0m0s seconds',
    );
    expect(jobFailure('JOB_CANCELED').message).toBe('Job failed: canceled');
    expect(jobFailure('POD_START_TIMEOUT').message).toBe(
      'Job failed (system failure): prepare environment: waiting for pod running: timed out waiting for pod to start (last phase: Pending)',
    );
    expect(
      jobFailure('POD_START_TIMEOUT', {
        phase: 'Pending',
        detail: '0/1 nodes are available: 1 Insufficient cpu.',
      }).message,
    ).toBe(
      'Job failed (system failure): prepare environment: waiting for pod running: timed out waiting for pod to start (last phase: Pending): 0/1 nodes are available: 1 Insufficient cpu.',
    );
    expect(
      jobFailure('CONTAINER_KILLED', { container: 'build', exitCode: 137, reason: 'OOMKilled' }).message,
    ).toBe("Job failed (system failure): Error in container build: exit code: 137, reason: 'OOMKilled'");
    expect(formatGoDuration(300)).toBe('5m0s');
    expect(formatGoDuration(45)).toBe('45s');
    expect(formatGoDuration(5400)).toBe('1h30m0s');
  });
});

describe('feature flags', () => {
  it('parses Go booleans and resolves config, then job variable, then default', () => {
    expect(parseGoBool('True')).toBe(true);
    expect(parseGoBool('0')).toBe(false);
    expect(parseGoBool('yes')).toBeUndefined();
    expect(resolveFeatureFlag('FF_TIMESTAMPS')).toBe(true);
    expect(
      resolveFeatureFlag('FF_TIMESTAMPS', { variables: [{ key: 'FF_TIMESTAMPS', value: 'false' }] }),
    ).toBe(false);
    expect(
      resolveFeatureFlag('FF_TIMESTAMPS', {
        variables: [{ key: 'FF_TIMESTAMPS', value: 'false' }],
        configFlags: { FF_TIMESTAMPS: true },
      }),
    ).toBe(true);
    expect(
      resolveFeatureFlag('FF_SCRIPT_SECTIONS', { variables: [{ key: 'FF_SCRIPT_SECTIONS', value: 'nope' }] }),
    ).toBe(false);
    expect(
      resolveFeatureFlag('FF_SCRIPT_SECTIONS', {
        variables: [
          { key: 'FF_SCRIPT_SECTIONS', value: 'false' },
          { key: 'FF_SCRIPT_SECTIONS', value: '1' },
        ],
      }),
    ).toBe(true);
  });
});

describe('where the time went', () => {
  it('formats phase durations into one short line', () => {
    expect(
      formatTimeBreakdown({
        queuedMs: 2100,
        scheduledMs: 300,
        imagePullMs: 4000,
        initMs: 1200,
        scriptMs: 65_400,
        uploadMs: 800,
      }),
    ).toBe(
      'Time: queued 2.1s, scheduled 300ms, image pull 4.0s, init/clone 1.2s, script 1m05s, upload 800ms (total 1m14s)',
    );
    expect(formatTimeBreakdown({ scriptMs: 3_725_000 })).toBe('Time: script 1h02m (total 1h02m)');
    expect(formatTimeBreakdown({})).toBe('Time: no phase measured');
    expect(timeBreakdownLine({ queuedMs: 10 })).toBe('\x1b[0KTime: queued 10ms (total 10ms)\x1b[0;m\n');
    expect(formatDuration(59_999)).toBe('1m00s');
    expect(formatDuration(59_900)).toBe('59.9s');
  });
});
