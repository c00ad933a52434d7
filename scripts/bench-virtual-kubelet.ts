// Benchmark: the simulated kubelet with the virtual runtime holding N pods at once.
// Usage: npx node scripts/bench-virtual-kubelet.ts [--pods 2000] [--run 20s] [--layout job|simple]
// Creates the pods through an in-memory KubeletStore, waits until all run, then until all succeed,
// then deletes them, and prints throughput, latencies, memory and CPU. Figures, not assertions.
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/sim/kube/kubelet/duration.ts';
import { startKubelet } from '../src/sim/kube/kubelet/kubelet.ts';
import type { PodEventType, PodObject } from '../src/sim/kube/kubelet-store.ts';
import { createVirtualRuntime } from '../src/sim/kube/virtual/virtual-runtime.ts';
import { MemoryStore } from '../test/unit/sim-kube-kubelet/support/memory-store.ts';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '2000' },
    run: { type: 'string', default: '20s' },
    layout: { type: 'string', default: 'job' },
    batch: { type: 'string', default: '100' },
  },
});
const podCount = Number(values.pods);
const runMs = parseDuration(values.run) ?? 20_000;
const batch = Number(values.batch);
const layout = values.layout === 'simple' ? 'simple' : 'job';

function jobPod(i: number): PodObject {
  const runSeconds = (runMs / 1000).toFixed(3);
  const name = `runner-${String(i).padStart(5, '0')}`;
  const helper = 'ghcr.io/podrunner/helper:0.1.0';
  if (layout === 'simple') {
    return {
      metadata: { name, namespace: 'bench' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          { name: 'build', image: 'alpine:3.19', command: ['sh', '-c', `echo start; sleep ${runSeconds}`] },
        ],
      },
    };
  }
  return {
    metadata: { name, namespace: 'bench', labels: { 'job.runner.gitlab.com/id': String(i) } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 30,
      initContainers: [
        { name: 'helper', image: helper, command: ['podrunner-helper', 'prepare'] },
        {
          name: 'docker',
          image: 'docker:27-dind',
          restartPolicy: 'Always',
          startupProbe: { tcpSocket: { port: 2375 }, periodSeconds: 1, failureThreshold: 60 },
        },
      ],
      containers: [
        {
          name: 'build',
          image: 'alpine:3.19',
          command: ['sh', '-c', `echo "Running job ${i}"; sleep ${runSeconds}; echo done`],
        },
        { name: 'uploader', image: helper, command: ['podrunner-helper', 'upload'] },
      ],
    },
  };
}

const store = new MemoryStore();
store.recordHistory = false;
store.recordLogs = false;
const runtime = createVirtualRuntime({ pullDelayMs: 200, helperMs: 300, uploaderMs: 200 });
const kubelet = startKubelet(store, runtime, {
  nodeName: 'bench-node',
  capacity: { cpu: '1000', memory: '4Ti', pods: podCount + 10 },
});

const firstRunning = new Map<string, number>();
const firstSucceeded = new Map<string, number>();
const created = new Map<string, number>();
let deleted = 0;
let watchEvents = 0;
let resolveRunning!: () => void;
let resolveSucceeded!: () => void;
let resolveDeleted!: () => void;
const allRunning = new Promise<void>((r) => {
  resolveRunning = r;
});
const allSucceeded = new Promise<void>((r) => {
  resolveSucceeded = r;
});
const allDeleted = new Promise<void>((r) => {
  resolveDeleted = r;
});
store.watchPods((type: PodEventType, pod: PodObject) => {
  watchEvents++;
  const uid = pod.metadata?.uid ?? '';
  const now = performance.now();
  if (type === 'DELETED') {
    if (++deleted === podCount) resolveDeleted();
    return;
  }
  if (pod.status?.phase === 'Running' && !firstRunning.has(uid)) {
    firstRunning.set(uid, now);
    if (firstRunning.size === podCount) resolveRunning();
  }
  if (pod.status?.phase === 'Succeeded' && !firstSucceeded.has(uid)) {
    firstSucceeded.set(uid, now);
    if (firstSucceeded.size === podCount) resolveSucceeded();
  }
});

const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const rssBefore = process.memoryUsage().rss;
const cpuStart = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < podCount; i++) {
  const pod = store.createPod(jobPod(i));
  created.set(pod.metadata?.uid ?? '', performance.now());
  if ((i + 1) % batch === 0) await new Promise((r) => setImmediate(r));
}
const tCreated = performance.now();
await allRunning;
const tRunning = performance.now();
const memAtPeak = process.memoryUsage();
const runningPods = [...firstRunning.values()].length;
await allSucceeded;
const tSucceeded = performance.now();
for (const name of [...Array(podCount).keys()].map((i) => jobPod(i).metadata?.name ?? ''))
  store.deletePod('bench', name);
await allDeleted;
const tDeleted = performance.now();
const cpu = process.cpuUsage(cpuStart);
loopDelay.disable();
await kubelet.stop();

const startLatencies = [...firstRunning].map(([uid, t]) => t - (created.get(uid) ?? t));
const finishLatencies = [...firstSucceeded].map(([uid, t]) => t - (firstRunning.get(uid) ?? t));
const cpuMs = (cpu.user + cpu.system) / 1000;
const wall = tDeleted - t0;
const lines = [
  `virtual kubelet benchmark: ${podCount} pods (${layout} layout${layout === 'job' ? ': helper init, docker sidecar with tcp startup probe, build, uploader' : ''}), build runs ${secs(runMs)}`,
  `  created             ${secs(tCreated - t0)}  (${(podCount / ((tCreated - t0) / 1000)).toFixed(0)} pods/s offered)`,
  `  all Running         ${secs(tRunning - t0)}  (${(podCount / ((tRunning - t0) / 1000)).toFixed(0)} pods/s started; ${runningPods} running at once)`,
  `  start latency       p50 ${secs(percentile(startLatencies, 50))}, p99 ${secs(percentile(startLatencies, 99))} (create → Running)`,
  `  all Succeeded       ${secs(tSucceeded - t0)}  (Running → Succeeded p50 ${secs(percentile(finishLatencies, 50))}, p99 ${secs(percentile(finishLatencies, 99))})`,
  `  all deleted         ${secs(tDeleted - tSucceeded)} after the last success (graceful delete of ${podCount} finished pods)`,
  `  RSS                 ${mib(memAtPeak.rss)} with all pods running (${mib(rssBefore)} before; heap ${mib(memAtPeak.heapUsed)})`,
  `  CPU                 ${secs(cpuMs)} user+system over ${secs(wall)} wall (${((cpuMs / wall) * 100).toFixed(1)}% of one core; ${(cpuMs / podCount).toFixed(1)} ms per pod, store included)`,
  `  event loop delay    p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
  `  machine             ${cpus().length} cores, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at the end (other processes included)`,
  `  store traffic       ${store.statusWrites} status writes (${(store.statusWrites / podCount).toFixed(1)}/pod), ${store.events.length} distinct events, ${watchEvents} watch events`,
];
process.stdout.write(`${lines.join('\n')}\n`);
