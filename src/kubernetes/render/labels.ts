// Pod (and job Secret) labels and annotations: upstream's, with its sanitising and its protected
// `*.runner.gitlab.com` namespace (kubernetes-executor.md §2.1), plus podrunner's own under
// `podrunner.dev/`, which no configuration or job variable can override either.
import { formatGoDuration } from '../../config/schema/values.ts';
import type { JobPayload } from '../../gitlab/payload.ts';
import { ANNOTATION_ACCEPTED_AT, ANNOTATION_VERSION, LABEL_MANAGER, LABEL_RUNNER } from './contract.ts';
import { RenderError } from './errors.ts';
import type { VariableSet } from './variables.ts';

/** Upstream's sanitizeLabel: `[A-Za-z0-9._-]` kept, others become `_`, punctuation trimmed at both ends, ≤ 63. */
export function sanitizeLabel(value: string): string {
  const trim = (s: string) => s.replace(/^[-_.]+|[-_.]+$/g, '');
  return trim(trim(value.replace(/[^A-Za-z0-9._-]/g, '_')).slice(0, 63));
}

const runnerNamespace = /(^|.*\.)runner\.gitlab\.com(\/.*|$)/i;
const podrunnerNamespace = /(^|.*\.)podrunner\.dev(\/.*|$)/i;
/**
 * The embedded Kubernetes' per-pod knobs (src/sim/kube/README.md, "Annotations"): they mean nothing to
 * podrunner, and `pod_annotations` is how `podrunner bench` and tests tell virtual containers how long to
 * run and what to print, so they are let through.
 */
const simulatorAnnotation = /^sim\.podrunner\.dev\//;

/** Keys users may not set: upstream's and podrunner's. */
export function isProtectedKey(key: string): boolean {
  return runnerNamespace.test(key) || podrunnerNamespace.test(key);
}

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const qualifiedName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** The API server's rule for label and annotation keys: `[prefix/]name`. */
export function metadataKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !dnsSubdomain.test(prefix))) {
    return 'the prefix must be a DNS-1123 subdomain (lower-case alphanumerics, "-" and ".")';
  }
  if (name.length === 0 || name.length > 63 || !qualifiedName.test(name)) {
    return 'the name must be 1-63 characters of [A-Za-z0-9_.-] starting and ending with an alphanumeric';
  }
  return undefined;
}

function checkKey(kind: 'label' | 'annotation', key: string): void {
  const problem = metadataKeyProblem(key);
  if (problem)
    throw new RenderError('INVALID_METADATA_KEY', `pod ${kind} key ${JSON.stringify(key)}: ${problem}`);
}

export interface LabelInput {
  job: JobPayload;
  variables: VariableSet;
  /** `projectUniqueName(...)`. */
  uniqueName: string;
  /** `[[runners]] name`. */
  runnerName: string;
  shortToken: string;
  managerSystemId: string;
  /** `pod_labels` merged with the job's `KUBERNETES_POD_LABELS_*` overwrites. */
  podLabels: Readonly<Record<string, string>>;
  log: string[];
}

export function buildLabels(input: LabelInput): Record<string, string> {
  const { job, variables } = input;
  const labels: Record<string, string> = {
    pod: sanitizeLabel(input.uniqueName),
    'project.runner.gitlab.com/id': String(job.job_info.project_id),
    'project.runner.gitlab.com/namespace-id': sanitizeLabel(
      variables.value('CI_PROJECT_NAMESPACE_ID') ?? String(job.job_info.namespace_id ?? ''),
    ),
    'project.runner.gitlab.com/name': sanitizeLabel(job.job_info.project_name),
    'project.runner.gitlab.com/namespace': sanitizeLabel(variables.value('CI_PROJECT_NAMESPACE') ?? ''),
    'project.runner.gitlab.com/root-namespace': sanitizeLabel(
      variables.value('CI_PROJECT_ROOT_NAMESPACE') ?? '',
    ),
    'project.runner.gitlab.com/root-namespace-id': String(job.job_info.root_namespace_id ?? 0),
    'job.runner.gitlab.com/pod': sanitizeLabel(input.uniqueName),
    'manager.runner.gitlab.com/name': sanitizeLabel(input.runnerName),
    'manager.runner.gitlab.com/id-short': sanitizeLabel(input.shortToken),
  };
  for (const [key, value] of Object.entries(input.podLabels)) {
    if (isProtectedKey(key)) {
      input.log.push(
        `Not setting pod label "${key}": labels in the runner's namespaces cannot be overwritten`,
      );
      continue;
    }
    checkKey('label', key);
    labels[key] = sanitizeLabel(expandForPod(value, variables, `pod label "${key}"`, input.log));
  }
  labels[LABEL_RUNNER] = sanitizeLabel(input.shortToken);
  labels[LABEL_MANAGER] = sanitizeLabel(input.managerSystemId);
  return labels;
}

export interface AnnotationInput {
  job: JobPayload;
  variables: VariableSet;
  jobTimeoutSeconds: number;
  /** `pod_annotations` merged with the job's `KUBERNETES_POD_ANNOTATIONS_*` overwrites. */
  podAnnotations: Readonly<Record<string, string>>;
  version: string;
  /** RFC 3339 with microseconds, e.g. `2026-05-01T10:00:00.123456Z`. */
  acceptedAt: string;
  log: string[];
}

/** The project URL without credentials and `.git`, then `/-/jobs/<id>` (upstream's JobURL). */
export function jobUrl(job: JobPayload): string {
  let repo = job.git_info.repo_url;
  try {
    const url = new URL(repo);
    url.username = '';
    url.password = '';
    repo = url.toString();
  } catch {
    repo = repo.replace(/\/\/[^/@]*@/, '//');
  }
  return `${repo.replace(/\/+$/, '').replace(/\.git$/, '')}/-/jobs/${job.id}`;
}

export function buildAnnotations(input: AnnotationInput): Record<string, string> {
  const { job } = input;
  const annotations: Record<string, string> = {
    'job.runner.gitlab.com/id': String(job.id),
    'job.runner.gitlab.com/url': jobUrl(job),
    'job.runner.gitlab.com/sha': job.git_info.sha,
    'job.runner.gitlab.com/before_sha': job.git_info.before_sha ?? '',
    'job.runner.gitlab.com/ref': job.git_info.ref,
    'job.runner.gitlab.com/name': job.job_info.name,
    'job.runner.gitlab.com/timeout': formatGoDuration(input.jobTimeoutSeconds * 1000),
    'project.runner.gitlab.com/id': String(job.job_info.project_id),
  };
  // Like upstream, configured annotations may replace the job.runner.gitlab.com ones; podrunner's own stay.
  for (const [key, value] of Object.entries(input.podAnnotations)) {
    if (podrunnerNamespace.test(key) && !simulatorAnnotation.test(key)) {
      input.log.push(
        `Not setting pod annotation "${key}": annotations in podrunner.dev cannot be overwritten`,
      );
      continue;
    }
    checkKey('annotation', key);
    annotations[key] = expandForPod(value, input.variables, `pod annotation "${key}"`, input.log);
  }
  annotations[ANNOTATION_VERSION] = input.version;
  annotations[ANNOTATION_ACCEPTED_AT] = input.acceptedAt;
  return annotations;
}

/** Expands text for the Pod object with public variables only, noting any non-public one left out. */
export function expandForPod(text: string, variables: VariableSet, what: string, log: string[]): string {
  const hidden = variables.hiddenReferences(text);
  if (hidden.length > 0) {
    log.push(
      `WARNING: ${what} refers to ${hidden.map((h) => `$${h}`).join(', ')}, which is not public: ` +
        'left empty so that no secret value is written into the Pod object',
    );
  }
  return variables.expandPublic(text);
}
