// Service containers: native sidecars (init containers with `restartPolicy: Always`, started in order
// after the helper, each gating the next container on its startup probe) or, on clusters without
// native sidecars, plain containers beside the build.
//
// What the fallback loses: plain containers start together with the build, so the build may run
// before a service listens (the probe only marks readiness); and they do not stop when the build
// ends, so the pod stays Running until the manager deletes it, and services are not stopped after
// the main containers on a cancel.
import type { V1Container, V1EnvVar, V1Probe } from '@kubernetes/client-node';
import { jobVariableKey, serviceVariableKey } from './secret.ts';
import { probePort, type ServiceDefinition, type ServiceEnvEntry } from './services.ts';

export interface ServiceContainerInput {
  service: ServiceDefinition;
  name: string;
  env: readonly ServiceEnvEntry[];
  nativeSidecar: boolean;
  /** Seconds of failed probes before Kubernetes restarts a sidecar (`poll_timeout`). */
  probeTimeoutSeconds: number;
  base: Omit<V1Container, 'name' | 'image'>;
  image: string;
}

const envNamePattern = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * The container's env, every value a reference into the job Secret, and the Secret entries it needs.
 * Names Kubernetes would refuse are left out with a log line.
 */
export function serviceEnv(
  container: string,
  entries: readonly ServiceEnvEntry[],
  secretName: string,
  secretValues: Map<string, string>,
  log: string[],
): V1EnvVar[] {
  const env: V1EnvVar[] = [];
  for (const e of entries) {
    if (!envNamePattern.test(e.name)) {
      log.push(
        `WARNING: variable "${e.name}" is not a valid environment variable name: not passed to service "${container}"`,
      );
      continue;
    }
    const key = e.own ? serviceVariableKey(container, e.name) : jobVariableKey(e.name);
    secretValues.set(key, e.value);
    env.push({ name: e.name, valueFrom: { secretKeyRef: { name: secretName, key } } });
  }
  return env;
}

/** A TCP probe every second; `failureThreshold` failures in a row count as failed. */
export function serviceProbe(port: number, failureThreshold: number): V1Probe {
  return {
    tcpSocket: { port },
    periodSeconds: 1,
    timeoutSeconds: 1,
    failureThreshold: Math.max(1, failureThreshold),
  };
}

export function serviceContainer(input: ServiceContainerInput): {
  container: V1Container;
  probePort?: number;
} {
  const { service } = input;
  const port = probePort(service, input.env);
  const container: V1Container = {
    name: input.name,
    image: input.image,
    ...(service.entrypoint.length > 0 ? { command: [...service.entrypoint] } : {}),
    ...(service.command.length > 0 ? { args: [...service.command] } : {}),
    ...(service.ports.length > 0 ? { ports: service.ports.map((p) => ({ containerPort: p })) } : {}),
    ...input.base,
  };
  if (port !== undefined) {
    // A failed startup probe restarts a sidecar; on a plain container (restartPolicy Never) it would
    // end the service for good, so the fallback only reports readiness.
    if (input.nativeSidecar) container.startupProbe = serviceProbe(port, input.probeTimeoutSeconds);
    else container.readinessProbe = serviceProbe(port, 3);
  }
  if (input.nativeSidecar) container.restartPolicy = 'Always';
  return port === undefined ? { container } : { container, probePort: port };
}
