// Startup, readiness and liveness probes. TCP, HTTP and gRPC probes are a TCP connect on the pod's
// network through the runtime (`Sandbox.probeTcp`); exec probes pass (a runtime runs no exec).
import type { V1Probe } from '@kubernetes/client-node';
import type { Wire } from '../kubelet-store.ts';
import type { Sandbox } from '../runtime.ts';
import type { ContainerRecord } from './container.ts';
import type { ContainerObject } from './env.ts';
import type { EventType } from './events.ts';
import { sleep } from './timing.ts';

type Probe = Wire<V1Probe>;

export interface ProbeHost {
  readonly sandbox: Sandbox;
  readonly specTimeScale: number;
  readonly restartPolicy: string;
  event(type: EventType, reason: string, message: string, fieldPath: string): void;
  /** Something a status shows changed (started, ready). */
  changed(): void;
  /** Stop the container for a failed probe, with its own Killing message and grace. */
  killForProbe(c: ContainerRecord, message: string, graceSeconds: number | undefined): void;
}

function resolvePort(container: ContainerObject, port: number | string | undefined): number | undefined {
  if (port === undefined) return undefined;
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function probePort(container: ContainerObject, probe: Probe | undefined): number | undefined {
  if (!probe) return undefined;
  if (probe.tcpSocket) return resolvePort(container, probe.tcpSocket.port as number | string);
  if (probe.httpGet) return resolvePort(container, probe.httpGet.port as number | string);
  if (probe.grpc) return probe.grpc.port;
  return undefined;
}

/** Declared container ports plus every probe's port: what a virtual container "listens" on. */
export function containerPorts(container: ContainerObject): number[] {
  const ports = new Set<number>();
  for (const p of container.ports ?? []) ports.add(p.containerPort);
  for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
    const port = probePort(container, probe);
    if (port !== undefined) ports.add(port);
  }
  return [...ports];
}

async function probeOnce(
  host: ProbeHost,
  c: ContainerRecord,
  probe: Probe,
): Promise<{ ok: boolean; output: string }> {
  const ip = host.sandbox.podIP;
  const port = probePort(c.spec, probe);
  if (probe.exec || port === undefined) return { ok: true, output: '' };
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000 * host.specTimeScale;
  const ok = await host.sandbox.probeTcp(port, Math.max(1, timeoutMs));
  if (ok) return { ok, output: '' };
  const dial = `dial tcp ${ip}:${port}: connect: connection refused`;
  if (probe.httpGet) {
    const scheme = (probe.httpGet.scheme ?? 'HTTP').toLowerCase();
    return { ok, output: `Get "${scheme}://${ip}:${port}${probe.httpGet.path ?? '/'}": ${dial}` };
  }
  if (probe.grpc) return { ok, output: `timeout: failed to connect service "${ip}:${port}" within 1s` };
  return { ok, output: dial };
}

/**
 * Runs the probes of one container instance until `signal` aborts (the instance ended or the pod is
 * terminating). Sets `startupPassed`/`readinessPassed`; kills on startup or liveness failure.
 */
export async function runProbes(host: ProbeHost, c: ContainerRecord, signal: AbortSignal): Promise<void> {
  const scale = host.specTimeScale;
  const period = (p: Probe): number => (p.periodSeconds ?? 10) * 1000 * scale;
  const who = c.kind === 'sidecar' ? `Init container ${c.name}` : `Container ${c.name}`;
  const restarted = c.kind === 'sidecar' || host.restartPolicy !== 'Never' ? ', will be restarted' : '';
  try {
    const startup = c.spec.startupProbe;
    if (startup) {
      await sleep((startup.initialDelaySeconds ?? 0) * 1000 * scale, signal);
      let failures = 0;
      for (;;) {
        const { ok, output } = await probeOnce(host, c, startup);
        if (signal.aborted) return;
        if (ok) break;
        failures++;
        host.event('Warning', 'Unhealthy', `Startup probe failed: ${output}`, c.fieldPath);
        if (failures >= (startup.failureThreshold ?? 3)) {
          const message =
            c.kind === 'sidecar' ? `${who} failed startup probe` : `${who} failed startup probe${restarted}`;
          host.killForProbe(c, message, startup.terminationGracePeriodSeconds);
          return;
        }
        await sleep(period(startup), signal);
      }
    }
    c.startupPassed = true;
    c.readinessPassed = !c.spec.readinessProbe;
    host.changed();
    await Promise.all([
      readiness(host, c, signal, period),
      liveness(host, c, signal, period, who, restarted),
    ]);
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

async function readiness(
  host: ProbeHost,
  c: ContainerRecord,
  signal: AbortSignal,
  period: (p: Probe) => number,
): Promise<void> {
  const probe = c.spec.readinessProbe;
  if (!probe) return;
  await sleep((probe.initialDelaySeconds ?? 0) * 1000 * host.specTimeScale, signal);
  let successes = 0;
  let failures = 0;
  for (;;) {
    const { ok, output } = await probeOnce(host, c, probe);
    if (signal.aborted) return;
    if (ok) {
      failures = 0;
      successes++;
      if (!c.readinessPassed && successes >= (probe.successThreshold ?? 1)) {
        c.readinessPassed = true;
        host.changed();
      }
    } else {
      successes = 0;
      failures++;
      host.event('Warning', 'Unhealthy', `Readiness probe failed: ${output}`, c.fieldPath);
      if (c.readinessPassed && failures >= (probe.failureThreshold ?? 3)) {
        c.readinessPassed = false;
        host.changed();
      }
    }
    await sleep(period(probe), signal);
  }
}

async function liveness(
  host: ProbeHost,
  c: ContainerRecord,
  signal: AbortSignal,
  period: (p: Probe) => number,
  who: string,
  restarted: string,
): Promise<void> {
  const probe = c.spec.livenessProbe;
  if (!probe) return;
  await sleep((probe.initialDelaySeconds ?? 0) * 1000 * host.specTimeScale, signal);
  let failures = 0;
  for (;;) {
    const { ok, output } = await probeOnce(host, c, probe);
    if (signal.aborted) return;
    if (ok) failures = 0;
    else {
      failures++;
      host.event('Warning', 'Unhealthy', `Liveness probe failed: ${output}`, c.fieldPath);
      if (failures >= (probe.failureThreshold ?? 3)) {
        const message =
          c.kind === 'sidecar' ? `${who} failed liveness probe` : `${who} failed liveness probe${restarted}`;
        host.killForProbe(c, message, probe.terminationGracePeriodSeconds);
        return;
      }
    }
    await sleep(period(probe), signal);
  }
}
