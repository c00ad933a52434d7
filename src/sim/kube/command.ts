// `podrunner sim kube`: serves the embedded Kubernetes (API server + kubelet) until stopped, and writes a
// kubeconfig that kubectl, @kubernetes/client-node and python3-kubernetes accept.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { KubeletFactory, RuntimeFactory } from './cluster.ts';
import type { FaultsFile } from './faults-file.ts';

function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:6443');
  return { host: (m[1] ?? m[2])!, port };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface Options {
  listen: { host: string; port: number };
  kubeconfig?: string;
  mode: 'process' | 'virtual';
  faults?: string;
  nodeName: string;
  namespace: string[];
  tlsCert?: string;
  tlsKey?: string;
  imageTable?: string;
}

/** The kubelet and the runtime of `mode`, loaded only when the command runs. */
async function loadNode(
  mode: 'process' | 'virtual',
  imageTable: string | undefined,
): Promise<{ kubelet: KubeletFactory; runtime: RuntimeFactory }> {
  const { startKubelet } = await import('./kubelet/kubelet.ts');
  const { parseKubeletFaults } = await import('./kubelet/faults.ts');
  // The faults file's `kubelet:` section is validated here, so a bad one is refused at start.
  const kubelet: KubeletFactory = (store, runtime, o) =>
    startKubelet(store, runtime, { nodeName: o.nodeName, faults: parseKubeletFaults(o.faults) });
  if (mode === 'virtual') {
    const { createVirtualRuntime } = await import('./virtual/virtual-runtime.ts');
    return { kubelet, runtime: () => createVirtualRuntime() };
  }
  const { createProcessRuntime } = await import('./process/process-runtime.ts');
  return {
    kubelet,
    runtime: () => createProcessRuntime(imageTable ? { imageTable } : {}),
  };
}

export function simKubeCommand(): Command {
  return new Command('kube')
    .description('serve the embedded Kubernetes API server and kubelet until stopped')
    .option('--listen <host:port>', 'address to serve the API on', parseListen, {
      host: '127.0.0.1',
      port: 6443,
    })
    .option(
      '--kubeconfig <path>',
      'write a kubeconfig for kubectl and client libraries here (default: ~/.local/state/podrunner/sim-kube.kubeconfig)',
    )
    .addOption(
      new Option('--mode <mode>', 'how the kubelet runs containers')
        .choices(['process', 'virtual'])
        .default('process'),
    )
    .option('--faults <file>', 'fault injection (YAML or JSON): an `api:` and a `kubelet:` section')
    .option('--node-name <name>', 'name of the simulated node', 'podrunner-sim')
    .option('--namespace <name>', 'create this namespace at start (repeatable)', collect, [])
    .option(
      '--image-table <file>',
      'process mode: YAML/JSON table mapping image names to what runs (adds to the built-in one)',
    )
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'private key of --tls-cert (PEM)')
    .action(async (options: Options) => {
      const { readFile } = await import('node:fs/promises');
      const { startSimKube } = await import('./cluster.ts');
      const { readFaultsFile } = await import('./faults-file.ts');
      const { defaultKubeconfigPath } = await import('./kubeconfig.ts');
      if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
        process.stderr.write('podrunner sim kube: --tls-cert and --tls-key go together\n');
        process.exitCode = 2;
        return;
      }
      let faults: FaultsFile;
      try {
        faults = options.faults ? await readFaultsFile(options.faults) : {};
      } catch (err) {
        process.stderr.write(`podrunner sim kube: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const node = await loadNode(options.mode, options.imageTable);
      const kubeconfigPath = options.kubeconfig ?? defaultKubeconfigPath();
      const tls =
        options.tlsCert && options.tlsKey
          ? { cert: await readFile(options.tlsCert), key: await readFile(options.tlsKey) }
          : undefined;
      const sim = await startSimKube({
        host: options.listen.host,
        port: options.listen.port,
        kubeconfigPath,
        faults,
        api: {
          nodeName: options.nodeName,
          runtimeMode: options.mode,
          namespaces: options.namespace,
          onInternalError: (err) =>
            process.stderr.write(
              `podrunner sim kube: internal error: ${(err as Error).stack ?? String(err)}\n`,
            ),
        },
        kubelet: node.kubelet,
        runtime: node.runtime,
        ...(tls ? { tls } : {}),
      });
      process.stdout.write(
        `podrunner sim kube: serving ${sim.url} (node ${options.nodeName}, ${options.mode} mode)\n` +
          `kubeconfig: ${kubeconfigPath}\n` +
          `try: KUBECONFIG=${kubeconfigPath} kubectl get pods -A -w\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      process.stdout.write('podrunner sim kube: stopping\n');
      await sim.close();
    });
}
