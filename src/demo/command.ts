import { Command } from 'commander';

// Placeholder until this command's issue lands; replaced by the real definition.
export function demoCommand(): Command {
  return new Command('demo')
    .description('run a sample pipeline on the embedded GitLab and Kubernetes (not built yet)')
    .action(() => {
      process.stderr.write('podrunner demo: not built yet\n');
      process.exitCode = 2;
    });
}
