// Objects a fresh cluster has: the system namespaces, in every namespace the `default` ServiceAccount
// and the `kube-root-ca.crt` ConfigMap, the `kubernetes` Service, and the node the simulator runs.
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { versionInfo } from './discovery.ts';
import type { Registry } from './registry.ts';
import { configmaps, leases, namespaces, nodes, serviceaccounts, services } from './resources.ts';
import { formatMicroTime, formatTime } from './time.ts';

export const systemNamespaces = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

/** Creates the per-namespace objects whenever a namespace appears (the token and root-CA controllers). */
export function seedNamespaceObjects(registry: Registry, caPem: string): void {
  const fill = (namespace: string) => {
    if (!registry.store.get('serviceaccounts', namespace, 'default')) {
      registry.createInternal(serviceaccounts, { metadata: { name: 'default', namespace } });
    }
    if (!registry.store.get('configmaps', namespace, 'kube-root-ca.crt')) {
      registry.createInternal(configmaps, {
        metadata: {
          name: 'kube-root-ca.crt',
          namespace,
          annotations: {
            'kubernetes.io/description':
              'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
          },
        },
        data: { 'ca.crt': caPem },
      });
    }
  };
  registry.store.onChange((event) => {
    if (event.resource === 'namespaces' && event.type === 'ADDED') fill(event.entry.name);
  });
  for (const entry of registry.store.list('namespaces', '')) fill(entry.name);
}

export function createNamespace(registry: Registry, name: string): void {
  if (registry.store.get('namespaces', '', name)) return;
  registry.createInternal(namespaces, { metadata: { name } });
}

export function createKubernetesService(registry: Registry): void {
  if (registry.store.get('services', 'default', 'kubernetes')) return;
  registry.createInternal(services, {
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      clusterIP: '10.96.0.1',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
      sessionAffinity: 'None',
      type: 'ClusterIP',
    },
  });
}

function osImage(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
    if (m) return m[1]!;
  } catch {
    // not Linux, or no os-release
  }
  return 'Linux';
}

export function createNode(registry: Registry, name: string, runtimeMode: string): void {
  if (registry.store.get('nodes', '', name)) return;
  const now = formatTime(registry.now());
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const capacity = {
    cpu: String(cpus().length),
    'ephemeral-storage': '100Gi',
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    pods: '110',
  };
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
    reason,
    message,
  });
  registry.createInternal(nodes, {
    metadata: {
      name,
      labels: {
        'beta.kubernetes.io/arch': arch,
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': arch,
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] },
    status: {
      capacity,
      allocatable: capacity,
      conditions: [
        condition(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
        ),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: release(),
        osImage: osImage(),
        containerRuntimeVersion: `podrunner-sim://${runtimeMode}`,
        kubeletVersion: versionInfo().gitVersion,
        kubeProxyVersion: versionInfo().gitVersion,
        operatingSystem: 'linux',
        architecture: arch,
      },
    },
  });
}

/** The node's heartbeat Lease in kube-node-lease (what `kubectl describe node` shows as Lease). */
export function createNodeLease(registry: Registry, nodeName: string): void {
  if (registry.store.get('leases', 'kube-node-lease', nodeName)) return;
  const node = registry.store.get('nodes', '', nodeName);
  registry.createInternal(leases, {
    metadata: {
      name: nodeName,
      namespace: 'kube-node-lease',
      ...(node
        ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.uid }] }
        : {}),
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime: formatMicroTime(registry.now()) },
  });
}
