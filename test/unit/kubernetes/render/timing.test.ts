import { describe, expect, it } from 'vitest';
import type { JobPayload } from '../../../../src/gitlab/payload.ts';
import {
  activeDeadlineSeconds,
  afterScriptTimeoutSeconds,
  terminationGracePeriodSeconds,
} from '../../../../src/kubernetes/render/timing.ts';
import { jobNeedsUploader } from '../../../../src/kubernetes/render/uploads.ts';
import { VariableSet } from '../../../../src/kubernetes/render/variables.ts';
import { baseInput, fixture, jobVariables, rendered, runnerConfig } from './support.ts';

describe('time bounds of the pod', () => {
  it('read RUNNER_AFTER_SCRIPT_TIMEOUT, default 5 minutes, capped at the job timeout', () => {
    const t = (value?: string) =>
      afterScriptTimeoutSeconds(
        new VariableSet(value === undefined ? [] : [{ key: 'RUNNER_AFTER_SCRIPT_TIMEOUT', value }]),
        3600,
      );
    expect(t()).toBe(300);
    expect(t('10m')).toBe(600);
    expect(t('90s')).toBe(90);
    expect(t('5h')).toBe(3600);
    expect(t('soon')).toBe(300);
  });

  it('set activeDeadlineSeconds as a backstop: job + after_script + upload + start allowances', () => {
    expect(activeDeadlineSeconds({ jobTimeoutSeconds: 3600, afterScriptSeconds: 0, uploader: false })).toBe(
      3900,
    );
    expect(activeDeadlineSeconds({ jobTimeoutSeconds: 3600, afterScriptSeconds: 300, uploader: true })).toBe(
      3600 + 305 + 600 + 300,
    );
  });

  it('size the grace period so a cancel still runs after_script and the uploads, unless configured', () => {
    expect(
      terminationGracePeriodSeconds(undefined, {
        jobTimeoutSeconds: 3600,
        afterScriptSeconds: 0,
        uploader: false,
      }),
    ).toBe(30);
    expect(
      terminationGracePeriodSeconds(undefined, {
        jobTimeoutSeconds: 3600,
        afterScriptSeconds: 120,
        uploader: true,
      }),
    ).toBe(30 + 125 + 300);
    expect(
      terminationGracePeriodSeconds(10, { jobTimeoutSeconds: 3600, afterScriptSeconds: 120, uploader: true }),
    ).toBe(10);
  });

  it('land in the pod spec, and activeDeadlineSeconds goes with FF_USE_POD_ACTIVE_DEADLINE_SECONDS=false', () => {
    const { job, raw } = fixture('job-full.json');
    const input = baseInput({ job, rawPayload: raw, variables: jobVariables(job), uploader: true });
    const spec = rendered(input).pod.spec!;
    expect(spec.activeDeadlineSeconds).toBe(5400 + 305 + 600 + 300);
    expect(spec.terminationGracePeriodSeconds).toBe(30 + 305 + 300);
    expect(spec.restartPolicy).toBe('Never');
    const configured = rendered({
      ...input,
      runner: runnerConfig(
        'image = "a"\npod_termination_grace_period_seconds = 45',
        '[runners.feature_flags]\nFF_USE_POD_ACTIVE_DEADLINE_SECONDS = false',
      ),
    }).pod.spec!;
    expect(configured.terminationGracePeriodSeconds).toBe(45);
    expect(configured.activeDeadlineSeconds).toBeUndefined();
  });
});

describe('the uploader', () => {
  const job = (
    artifacts: Partial<JobPayload['artifacts'][number]>[],
    cache: Partial<JobPayload['cache'][number]>[],
  ) => ({ artifacts, cache }) as unknown as JobPayload;
  const none = () => '';

  it('is needed for artifacts with paths or untracked files, and for a cache that is saved', () => {
    expect(jobNeedsUploader(job([], []), none)).toBe(false);
    expect(jobNeedsUploader(job([{ paths: ['dist/'], untracked: false }], []), none)).toBe(true);
    expect(jobNeedsUploader(job([{ paths: [], untracked: true }], []), none)).toBe(true);
    expect(jobNeedsUploader(job([{ paths: [], untracked: false }], []), none)).toBe(false);
    expect(jobNeedsUploader(job([], [{ paths: ['.npm/'], untracked: false, policy: 'pull' }]), none)).toBe(
      false,
    );
    expect(
      jobNeedsUploader(job([], [{ paths: ['.npm/'], untracked: false, policy: 'pull-push' }]), none),
    ).toBe(true);
    expect(jobNeedsUploader(job([], [{ paths: ['.npm/'], untracked: false, policy: 'push' }]), none)).toBe(
      true,
    );
  });

  it('expands a cache policy GitLab sent as a variable', () => {
    const c = job([], [{ paths: ['x'], untracked: false, policy: '$CACHE_POLICY' as 'pull' }]);
    expect(jobNeedsUploader(c, (n) => (n === 'CACHE_POLICY' ? 'pull' : ''))).toBe(false);
    expect(jobNeedsUploader(c, (n) => (n === 'CACHE_POLICY' ? 'push' : ''))).toBe(true);
  });

  it('is needed by the full fixture (artifacts) and not by the minimal one', () => {
    const full = fixture('job-full.json').job;
    expect(jobNeedsUploader(full, none)).toBe(true);
    expect(jobNeedsUploader(fixture('job-minimal.json').job, none)).toBe(false);
  });
});
