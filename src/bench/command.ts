import { Command } from 'commander';

// Placeholder until this command's issue lands; replaced by the real definition.
export function benchCommand(): Command {
  return new Command('bench')
    .description('measure how many concurrent jobs a manager sustains (not built yet)')
    .action(() => {
      process.stderr.write('podrunner bench: not built yet\n');
      process.exitCode = 2;
    });
}
