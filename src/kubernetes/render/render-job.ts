// One job → its Pod, its Secret and (when the job brings registry credentials) its pull Secret, as a
// pure function of plain data (architecture.md §2, docs/pod-contract.md). Every refusal comes back as a
// RenderError with a stable code; the caller reports it as a configuration failure of the job.
import type { V1Container, V1Pod, V1PodSpec, V1Secret } from '@kubernetes/client-node';
import { type KubernetesConfig, kubernetesConfigSchema } from '../../config/schema/kubernetes.ts';
import type { RunnerConfig } from '../../config/schema/runner.ts';
import { type JobPayload, jobTimeoutSeconds } from '../../gitlab/payload.ts';
import {
  CONTAINER_BUILD,
  CONTAINER_HELPER,
  CONTAINER_UPLOADER,
  DEFAULT_BUILDS_DIR,
  HELPER_JSON_KEY,
  HELPER_PREPARE_COMMAND,
  HELPER_UPLOAD_COMMAND,
  JOB_JSON_KEY,
  PULL_SECRET_SUFFIX,
} from './contract.ts';
import { RenderError } from './errors.ts';
import {
  effectivePullPolicies,
  type KubernetesPullPolicy,
  parseJobUser,
  verifyAllowedImage,
} from './images.ts';
import { buildAnnotations, buildLabels, expandForPod } from './labels.ts';
import { lifecycle } from './lifecycle.ts';
import { computeOverwrites, serviceResources } from './overwrites.ts';
import { podName, projectUniqueName } from './pod-name.ts';
import { applyPodSpecPatches } from './pod-spec-patches.ts';
import { pullSecret, registryAuths } from './pull-secret.ts';
import { parseQuantity } from './quantity.ts';
import { HELPER_MEMORY_WARNING_BYTES, resourceRequirements } from './resources.ts';
import { affinity, dns, hostAliases, tolerations } from './scheduling.ts';
import { jobSecret } from './secret.ts';
import { containerSecurityContext, podSecurityContext } from './security.ts';
import { serviceContainer, serviceEnv } from './service-containers.ts';
import { collectServices, serviceContainerNames, serviceEnvironment, serviceHostnames } from './services.ts';
import {
  activeDeadlineSeconds,
  afterScriptTimeoutSeconds,
  hasAfterScript,
  terminationGracePeriodSeconds,
} from './timing.ts';
import { featureFlag, type RenderVariable, VariableSet } from './variables.ts';
import { podVolumes } from './volumes.ts';

export interface RenderJobInput {
  /** The validated job (`parseJobPayload`). */
  job: JobPayload;
  /** The 201 body exactly as GitLab sent it: the Secret's `job.json`. */
  rawPayload: string;
  /** The `[[runners]]` entry (its `kubernetes` section; defaults apply when absent). */
  runner: RunnerConfig;
  /** The final variable list (payload + runner-side + environment), unexpanded, as given to `src/scripts`. */
  variables: readonly RenderVariable[];
  /** `renderBuildScript(...)` of `src/scripts`: Secret files and the build container's command. */
  buildScript: { files: Record<string, string>; command: string[] };
  /** `helper.json` (HelperSettings of helper/contract.ts), opaque here. */
  helperSettings: string;
  /**
   * The namespace when `[runners.kubernetes] namespace` is empty (the manager's own, e.g. from
   * KUBERNETES_NAMESPACE or the in-cluster service account); "" means `default`. An allowed
   * `KUBERNETES_NAMESPACE_OVERWRITE` replaces either.
   */
  namespace: string;
  /** The manager's system id (label `podrunner.dev/manager`). */
  managerSystemId: string;
  /** The runner's short token (`shortToken(token)`). */
  runnerShortToken: string;
  /** The per-project slot of this job (`concurrent-<slot>` in the pod name). */
  projectSlot: number;
  /** 8 characters of [a-z0-9] (`suffixFromBytes(randomBytes(8))`). */
  randomSuffix: string;
  /** When the manager accepted the job: RFC 3339 with microseconds (`2026-05-01T10:00:00.123456Z`). */
  acceptedAt: string;
  /** podrunner's version (annotation `podrunner.dev/version`). */
  version: string;
  /** `ghcr.io/podrunner/helper:<version>`, used unless `helper_image` is set. */
  defaultHelperImage: string;
  /** Whether the cluster runs init containers with `restartPolicy: Always` as sidecars (≥ 1.29). */
  nativeSidecars: boolean;
  /** Whether the job has artifacts or cache to save (`jobNeedsUploader`). */
  uploader: boolean;
  /** Per container, how many pulls failed so far: the next pull policy in its list is used. */
  pullAttempts?: Readonly<Record<string, number>>;
  /** The text of every `pod_spec` `patch_path` (`podSpecPatchPaths`), read by the caller. */
  podSpecPatchFiles?: Readonly<Record<string, string>>;
}

export interface RenderedService {
  container: string;
  image: string;
  aliases: string[];
  /** The TCP port its probe waits on, when one is known. */
  probePort?: number;
}

export interface RenderedJob {
  pod: V1Pod;
  /** The job Secret, named like the pod: create it first; set `secretOwnerReference(createdPod)` after. */
  secret: V1Secret;
  /** Registry credentials (`kubernetes.io/dockerconfigjson`), when the job has any. */
  pullSecret?: V1Secret;
  namespace: string;
  /** Per container, the pull policies to try in order (empty: Kubernetes decides). */
  pullPolicies: Record<string, KubernetesPullPolicy[]>;
  services: RenderedService[];
  /** Lines for the job log: overwrites applied, settings refused, warnings. */
  log: string[];
}

const defaultKubernetesConfig = (): KubernetesConfig => kubernetesConfigSchema.parse({});

function checkInputs(input: RenderJobInput): void {
  if (!Number.isInteger(input.projectSlot) || input.projectSlot < 0) {
    throw new RenderError(
      'INVALID_INPUT',
      `the project slot must be a non-negative integer, got ${input.projectSlot}`,
    );
  }
  if (!input.runnerShortToken) throw new RenderError('INVALID_INPUT', 'the runner short token is empty');
  if (!input.managerSystemId) throw new RenderError('INVALID_INPUT', 'the manager system id is empty');
}

export function renderJob(input: RenderJobInput): RenderedJob | RenderError {
  try {
    return render(input);
  } catch (error) {
    if (error instanceof RenderError) return error;
    throw error;
  }
}

function render(input: RenderJobInput): RenderedJob {
  checkInputs(input);
  const { job, runner } = input;
  const k8s = runner.kubernetes ?? defaultKubernetesConfig();
  const variables = new VariableSet(input.variables);
  const flags = runner.feature_flags;
  const log: string[] = [];

  let defaultNamespace = k8s.namespace || input.namespace;
  if (!defaultNamespace) {
    log.push("WARNING: Namespace is empty, therefore assuming 'default'.");
    defaultNamespace = 'default';
  }
  const overwrites = computeOverwrites(k8s, variables, defaultNamespace, log);
  const namespace = overwrites.namespace;
  const uniqueName = projectUniqueName(input.runnerShortToken, job.job_info.project_id, input.projectSlot);
  const name = podName(uniqueName, input.randomSuffix);
  const timeout = jobTimeoutSeconds(job);

  // Images.
  const expand = (text: string, what: string) => expandForPod(text, variables, what, log);
  const helperImage =
    (k8s.helper_image && expand(k8s.helper_image, 'helper_image')) || input.defaultHelperImage;
  const configImage = k8s.image ? expand(k8s.image, 'image') : '';
  const buildImage = (job.image?.name ? expand(job.image.name, 'the job image') : '') || configImage;
  if (!buildImage) throw new RenderError('NO_IMAGE', 'no image specified and no default set in config');
  const internalImages = [configImage, helperImage].filter(Boolean);
  verifyAllowedImage(buildImage, 'images', k8s.allowed_images, internalImages);

  const services = collectServices(k8s, job, variables);
  const serviceNames = serviceContainerNames(services);
  for (const s of services) verifyAllowedImage(s.image, 'services', k8s.allowed_services, internalImages);
  const hostnames = serviceHostnames(services);

  // Pull policies: helper and uploader follow the job image, like upstream's helper.
  const jobPolicies = effectivePullPolicies(job.image?.pull_policy ?? [], k8s);
  const pullPolicies: Record<string, KubernetesPullPolicy[]> = {
    [CONTAINER_HELPER]: jobPolicies,
    [CONTAINER_BUILD]: jobPolicies,
  };
  if (input.uploader) pullPolicies[CONTAINER_UPLOADER] = jobPolicies;
  services.forEach((s, i) => {
    pullPolicies[serviceNames[i]!] = effectivePullPolicies(s.pullPolicies, k8s);
  });
  const pullPolicy = (container: string): { imagePullPolicy?: string } => {
    const list = pullPolicies[container] ?? [];
    const attempt = input.pullAttempts?.[container] ?? 0;
    if (list.length === 0) return {};
    if (attempt >= list.length) {
      throw new RenderError(
        'INVALID_INPUT',
        `no pull policy left for container "${container}" after ${attempt} failed pulls`,
      );
    }
    return { imagePullPolicy: list[attempt]! };
  };

  const buildsDir = runner.builds_dir || DEFAULT_BUILDS_DIR;
  const secretFiles = [JOB_JSON_KEY, HELPER_JSON_KEY, ...Object.keys(input.buildScript.files)];
  const volumes = podVolumes(k8s.volumes, variables, buildsDir, name, secretFiles, log);
  const hooks = lifecycle(k8s.container_lifecycle);
  const withHooks = hooks ? { lifecycle: hooks } : {};
  const resources = (r: ReturnType<typeof resourceRequirements>) => (r ? { resources: r } : {});

  const helperResources = resourceRequirements(overwrites.helper);
  warnSmallHelper(overwrites.helper.limits.memory, input.uploader || job.dependencies.length > 0, log);
  const helperBase = (container: string): Omit<V1Container, 'name' | 'image' | 'command'> => ({
    ...pullPolicy(container),
    ...resources(helperResources),
    securityContext: containerSecurityContext(k8s, 'helper', container, {}, log),
    volumeMounts: volumes.jobMounts,
  });

  const helper: V1Container = {
    name: CONTAINER_HELPER,
    image: helperImage,
    command: [...HELPER_PREPARE_COMMAND],
    ...helperBase(CONTAINER_HELPER),
  };

  const jobUser = parseJobUser(job.image?.executor_opts.kubernetes?.user, k8s);
  const honorEntrypoint = featureFlag('FF_KUBERNETES_HONOR_ENTRYPOINT', flags, variables, false);
  const build: V1Container = {
    name: CONTAINER_BUILD,
    image: buildImage,
    ...(honorEntrypoint
      ? {
          ...(job.image?.entrypoint.length ? { command: [...job.image.entrypoint] } : {}),
          args: [...input.buildScript.command],
        }
      : { command: [...input.buildScript.command] }),
    ...pullPolicy(CONTAINER_BUILD),
    ...resources(resourceRequirements(overwrites.build)),
    securityContext: containerSecurityContext(k8s, 'build', CONTAINER_BUILD, jobUser, log),
    volumeMounts: volumes.jobMounts,
    ...withHooks,
  };

  const uploader: V1Container | undefined = input.uploader
    ? {
        name: CONTAINER_UPLOADER,
        image: helperImage,
        command: [...HELPER_UPLOAD_COMMAND],
        ...helperBase(CONTAINER_UPLOADER),
        ...withHooks,
      }
    : undefined;

  // Services: env values go into the job Secret, the container only names the keys.
  const envValues = new Map<string, string>();
  const rendered: RenderedService[] = [];
  const serviceContainers = services.map((s, i) => {
    const containerName = serviceNames[i]!;
    const env = serviceEnvironment(s, variables);
    const user = parseJobUser(s.user, k8s);
    const own = serviceResources(k8s, overwrites.service, s.variables, log);
    const envVars = serviceEnv(containerName, env, name, envValues, log);
    const { container, probePort } = serviceContainer({
      service: s,
      name: containerName,
      image: s.image,
      env,
      nativeSidecar: input.nativeSidecars,
      probeTimeoutSeconds: k8s.poll_timeout,
      base: {
        ...pullPolicy(containerName),
        ...(envVars.length > 0 ? { env: envVars } : {}),
        ...resources(resourceRequirements(own)),
        securityContext: containerSecurityContext(k8s, 'service', containerName, user, log),
        volumeMounts: volumes.serviceMounts,
        ...withHooks,
      },
    });
    rendered.push({
      container: containerName,
      image: s.image,
      aliases: s.aliases,
      ...(probePort !== undefined ? { probePort } : {}),
    });
    return container;
  });
  if (!input.nativeSidecars && serviceContainers.length > 0) {
    log.push(
      'Services run as plain containers (this cluster has no native sidecars): they start together with the build',
    );
  }

  // Registry credentials.
  const auths = k8s.use_service_account_image_pull_secrets
    ? {}
    : registryAuths(job, variables.value('DOCKER_AUTH_CONFIG'));
  const pullSecretName = Object.keys(auths).length > 0 ? `${name}${PULL_SECRET_SUFFIX}` : undefined;
  const imagePullSecrets = k8s.use_service_account_image_pull_secrets
    ? []
    : [...k8s.image_pull_secrets, ...(pullSecretName ? [pullSecretName] : [])].map((n) => ({ name: n }));

  const afterScript = hasAfterScript(job) ? afterScriptTimeoutSeconds(variables, timeout) : 0;
  const timing = { jobTimeoutSeconds: timeout, afterScriptSeconds: afterScript, uploader: input.uploader };

  const { dnsPolicy, dnsConfig } = dns(k8s);
  const podSecurity = podSecurityContext(k8s);
  const podAffinity = affinity(k8s.affinity);
  const podTolerations = tolerations(overwrites.nodeTolerations);
  const aliases = hostAliases(hostnames, k8s);
  const podResources = resourceRequirements(overwrites.pod);

  let spec: V1PodSpec = {
    restartPolicy: 'Never',
    initContainers: input.nativeSidecars ? [helper, ...serviceContainers] : [helper],
    containers: [build, ...(uploader ? [uploader] : []), ...(input.nativeSidecars ? [] : serviceContainers)],
    volumes: volumes.volumes,
    automountServiceAccountToken: k8s.automount_service_account_token ?? false,
    terminationGracePeriodSeconds: terminationGracePeriodSeconds(
      k8s.pod_termination_grace_period_seconds,
      timing,
    ),
    ...(featureFlag('FF_USE_POD_ACTIVE_DEADLINE_SECONDS', flags, variables, true)
      ? { activeDeadlineSeconds: activeDeadlineSeconds(timing) }
      : {}),
    ...(overwrites.serviceAccount ? { serviceAccountName: overwrites.serviceAccount } : {}),
    ...(Object.keys(overwrites.nodeSelector).length > 0
      ? { nodeSelector: { ...overwrites.nodeSelector } }
      : {}),
    ...(podTolerations ? { tolerations: podTolerations } : {}),
    ...(podAffinity ? { affinity: podAffinity } : {}),
    ...(k8s.scheduler_name ? { schedulerName: k8s.scheduler_name } : {}),
    ...(k8s.priority_class_name ? { priorityClassName: k8s.priority_class_name } : {}),
    ...(k8s.runtime_class_name ? { runtimeClassName: k8s.runtime_class_name } : {}),
    ...(podSecurity ? { securityContext: podSecurity } : {}),
    ...(imagePullSecrets.length > 0 ? { imagePullSecrets } : {}),
    ...(aliases ? { hostAliases: aliases } : {}),
    ...(dnsPolicy ? { dnsPolicy } : {}),
    ...(dnsConfig ? { dnsConfig } : {}),
    ...(podResources ? { resources: podResources } : {}),
  };

  if (k8s.pod_spec.length > 0) {
    if (featureFlag('FF_USE_ADVANCED_POD_SPEC_CONFIGURATION', flags, variables, false)) {
      log.push(
        'WARNING: Advanced Pod Spec configuration enabled, merging the provided PodSpec to the generated one. ' +
          'This is a beta feature and is subject to change.',
      );
      spec = applyPodSpecPatches(spec, k8s.pod_spec, input.podSpecPatchFiles);
    } else {
      log.push(
        'WARNING: pod_spec patches are configured but FF_USE_ADVANCED_POD_SPEC_CONFIGURATION is off: not applied',
      );
    }
  }

  const labels = buildLabels({
    job,
    variables,
    uniqueName,
    runnerName: runner.name,
    shortToken: input.runnerShortToken,
    managerSystemId: input.managerSystemId,
    podLabels: overwrites.podLabels,
    log,
  });
  const annotations = buildAnnotations({
    job,
    variables,
    jobTimeoutSeconds: timeout,
    podAnnotations: overwrites.podAnnotations,
    version: input.version,
    acceptedAt: input.acceptedAt,
    log,
  });

  // One deep copy, so no two containers share a mount list or hook object the caller might change.
  const pod: V1Pod = structuredClone({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels, annotations },
    spec,
  });
  const secret = jobSecret({
    name,
    namespace,
    labels,
    rawPayload: input.rawPayload,
    helperSettings: input.helperSettings,
    scriptFiles: input.buildScript.files,
    envValues,
  });
  return {
    pod,
    secret,
    ...(pullSecretName ? { pullSecret: pullSecret(pullSecretName, namespace, labels, auths) } : {}),
    namespace,
    pullPolicies,
    services: rendered,
    log,
  };
}

function warnSmallHelper(memoryLimit: string | undefined, transfers: boolean, log: string[]): void {
  if (!memoryLimit || !transfers) return;
  const q = parseQuantity(memoryLimit);
  if (q && q.num < BigInt(HELPER_MEMORY_WARNING_BYTES) * q.den) {
    log.push(
      `WARNING: the helper memory limit ${memoryLimit} is below 256Mi: git, cache and artifact transfers often run out of memory with less`,
    );
  }
}
