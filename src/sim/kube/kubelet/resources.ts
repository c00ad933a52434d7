// Resource quantities (`500m`, `1Gi`, `129e6`) and what a pod asks of a node, computed the way the
// scheduler does: regular containers and sidecars add up, a regular init container only needs room
// next to the sidecars started before it.
import type { PodObject } from '../kubelet-store.ts';

const binary: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const decimal: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The value of a Kubernetes quantity, or undefined when it is not one. */
export function parseQuantity(text: unknown): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) ? text : undefined;
  if (typeof text !== 'string') return undefined;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei)|(n|u|m|k|M|G|T|P|E))?$/.exec(
    text.trim(),
  );
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  if (m[3]) return base * (binary[m[3]] ?? 1);
  return base * (decimal[m[4] ?? ''] ?? 1);
}

/** CPU in millicores (`500m` → 500, `2` → 2000). */
export function cpuMillis(text: string | number | undefined): number | undefined {
  const value = parseQuantity(text);
  return value === undefined ? undefined : Math.ceil(value * 1000 - 1e-9);
}

/** Memory in bytes. */
export function memoryBytes(text: string | number | undefined): number | undefined {
  const value = parseQuantity(text);
  return value === undefined ? undefined : Math.ceil(value - 1e-9);
}

export interface Requests {
  cpuMillis: number;
  memoryBytes: number;
}

type ContainerLike = {
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  restartPolicy?: string;
};

function containerRequests(c: ContainerLike): Requests {
  // A limit without a request defaults the request to the limit (API server defaulting).
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  return {
    cpuMillis: cpuMillis(req.cpu ?? lim.cpu) ?? 0,
    memoryBytes: memoryBytes(req.memory ?? lim.memory) ?? 0,
  };
}

/** The scheduler's effective request of a pod (KEP-753 rules for sidecars). */
export function podRequests(pod: PodObject): Requests {
  const spec = pod.spec;
  let cpu = 0;
  let mem = 0;
  for (const c of spec?.containers ?? []) {
    const r = containerRequests(c);
    cpu += r.cpuMillis;
    mem += r.memoryBytes;
  }
  let sidecarCpu = 0;
  let sidecarMem = 0;
  let initCpu = 0;
  let initMem = 0;
  for (const c of spec?.initContainers ?? []) {
    const r = containerRequests(c);
    if (c.restartPolicy === 'Always') {
      sidecarCpu += r.cpuMillis;
      sidecarMem += r.memoryBytes;
    } else {
      initCpu = Math.max(initCpu, sidecarCpu + r.cpuMillis);
      initMem = Math.max(initMem, sidecarMem + r.memoryBytes);
    }
  }
  const overhead = spec?.overhead ?? {};
  return {
    cpuMillis: Math.max(cpu + sidecarCpu, initCpu) + (cpuMillis(overhead.cpu) ?? 0),
    memoryBytes: Math.max(mem + sidecarMem, initMem) + (memoryBytes(overhead.memory) ?? 0),
  };
}

/** The QoS class the API server assigns (simplified to cpu and memory). */
export function qosClass(pod: PodObject): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of all) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      if (req[r] !== undefined || lim[r] !== undefined) any = true;
      const l = parseQuantity(lim[r]);
      const q = parseQuantity(req[r] ?? lim[r]);
      if (l === undefined || q === undefined || l !== q) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
