// Shared inputs for the renderer tests: the GitLab fixtures, config.toml snippets and a complete
// RenderJobInput that a test changes only where it looks.
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../../../src/config/load.ts';
import type { RunnerConfig } from '../../../../src/config/schema/runner.ts';
import { type JobPayload, parseJobPayload } from '../../../../src/gitlab/payload.ts';
import { isRenderError, type RenderError } from '../../../../src/kubernetes/render/errors.ts';
import {
  type RenderedJob,
  type RenderJobInput,
  renderJob,
} from '../../../../src/kubernetes/render/render-job.ts';
import type { RenderVariable } from '../../../../src/kubernetes/render/variables.ts';

export function fixture(name: 'job-full.json' | 'job-minimal.json'): { job: JobPayload; raw: string } {
  const raw = readFileSync(new URL(`../../../fixtures/gitlab/${name}`, import.meta.url), 'utf8');
  const parsed = parseJobPayload(JSON.parse(raw));
  if (!parsed.ok) throw new Error(parsed.error);
  return { job: parsed.job, raw };
}

/** A `[[runners]]` entry with `kubernetes` holding the given TOML lines (and `runner` extra runner keys). */
export function runnerConfig(kubernetes = '', runner = ''): RunnerConfig {
  const source = [
    '[[runners]]',
    '  name = "k8s-test"',
    '  url = "https://gitlab.example.com"',
    '  token = "glrt-t3_abcdefghijklmnop"',
    '  executor = "kubernetes"',
    runner,
    '  [runners.kubernetes]',
    kubernetes,
  ].join('\n');
  const loaded = parseConfig(source, { env: {} });
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return loaded.config.runners[0]!;
}

/** The payload's variables plus the runner-side ones `src/scripts` adds (a subset). */
export function jobVariables(job: JobPayload, extra: RenderVariable[] = []): RenderVariable[] {
  const projectDir = `/builds/${job.job_info.project_full_path ?? 'group/project'}`;
  return [
    { key: 'CI_BUILDS_DIR', value: '/builds', public: true },
    { key: 'CI_PROJECT_DIR', value: projectDir, public: true },
    { key: 'CI_CONCURRENT_ID', value: '3', public: true },
    ...job.variables,
    { key: 'RUNNER_TEMP_PROJECT_DIR', value: `${projectDir}.tmp`, public: true },
    ...extra,
  ];
}

export function baseInput(overrides: Partial<RenderJobInput> = {}): RenderJobInput {
  const { job, raw } = fixture('job-minimal.json');
  return {
    job,
    rawPayload: raw,
    runner: runnerConfig('image = "alpine:3.20"'),
    variables: jobVariables(job),
    buildScript: {
      files: { 'build.sh': '#!/bin/sh\necho build\n' },
      command: ['sh', '-c', 'exec sh /podrunner/job/build.sh'],
    },
    helperSettings: '{"server_url":"https://gitlab.example.com"}',
    namespace: 'ci',
    managerSystemId: 's_0123456789ab',
    runnerShortToken: 'abcdefghi',
    projectSlot: 0,
    randomSuffix: 'x7k2m9qa',
    acceptedAt: '2026-05-01T10:00:00.123456Z',
    version: '0.1.0',
    defaultHelperImage: 'ghcr.io/podrunner/helper:0.1.0',
    nativeSidecars: true,
    uploader: false,
    ...overrides,
  };
}

export function rendered(input: RenderJobInput): RenderedJob {
  const result = renderJob(input);
  if (isRenderError(result)) throw new Error(`${result.code}: ${result.message}`);
  return result;
}

export function refused(input: RenderJobInput): RenderError {
  const result = renderJob(input);
  if (!isRenderError(result)) throw new Error('expected a RenderError');
  return result;
}
