// The `info` object sent with job requests and job updates (gitlab-runner-api.md §2.1, §3.1) and the
// User-Agent of every request.
import { version } from '../version.ts';
import { type RunnerFeatures, runnerFeatures } from './features.ts';

export interface RunnerInfo {
  name: string;
  version: string;
  revision: string;
  platform: string;
  architecture: string;
  executor?: string;
  shell?: string;
  features: RunnerFeatures;
  config: { gpus: string };
  labels?: Record<string, string>;
}

/** Go's GOARCH names, which GitLab shows and stores. */
const goArch: Record<string, string> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  s390x: 's390x',
  ppc64: 'ppc64le',
};

export const userAgent = `podrunner ${version} (gitlab-runner compatible)`;

export function runnerInfo(
  options: { labels?: Record<string, string>; withExecutor?: boolean } = {},
): RunnerInfo {
  const withExecutor = options.withExecutor ?? true;
  return {
    name: 'podrunner',
    version,
    revision: process.env.PODRUNNER_REVISION ?? 'unknown',
    platform: process.platform,
    architecture: goArch[process.arch] ?? process.arch,
    ...(withExecutor ? { executor: 'kubernetes', shell: 'bash' } : {}),
    features: { ...runnerFeatures },
    config: { gpus: '' },
    ...(options.labels && Object.keys(options.labels).length > 0 ? { labels: options.labels } : {}),
  };
}
