// podrunner's command line. Each command's definition lives beside the code it drives; this file only
// assembles them. Command modules keep their heavy imports lazy so `podrunner --help` stays fast.
import { Command } from 'commander';
import { benchCommand } from './bench/command.ts';
import { demoCommand } from './demo/command.ts';
import { managerCommands } from './manager/commands.ts';
import { simGitlabCommand } from './sim/gitlab/command.ts';
import { simKubeCommand } from './sim/kube/command.ts';
import { version } from './version.ts';

const program = new Command('podrunner')
  .description('GitLab Runner manager for the Kubernetes executor')
  .version(version, '-v, --version')
  .showHelpAfterError();

for (const command of managerCommands()) program.addCommand(command);
program.addCommand(demoCommand());
program.addCommand(benchCommand());
program.addCommand(
  new Command('sim')
    .description('embedded stand-ins for GitLab and Kubernetes (development, tests, demo, benchmark)')
    .addCommand(simGitlabCommand())
    .addCommand(simKubeCommand()),
);

await program.parseAsync(process.argv);
