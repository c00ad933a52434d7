import { Command } from 'commander';

// Placeholder until this command's issue lands; replaced by the real definition.
export function simKubeCommand(): Command {
  return new Command('kube')
    .description('serve the embedded Kubernetes API server and kubelet (not built yet)')
    .action(() => {
      process.stderr.write('podrunner kube: not built yet\n');
      process.exitCode = 2;
    });
}
