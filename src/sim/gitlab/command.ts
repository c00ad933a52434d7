import { Command } from 'commander';

// Placeholder until this command's issue lands; replaced by the real definition.
export function simGitlabCommand(): Command {
  return new Command('gitlab').description('serve the embedded GitLab (not built yet)').action(() => {
    process.stderr.write('podrunner gitlab: not built yet\n');
    process.exitCode = 2;
  });
}
