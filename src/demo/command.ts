// `podrunner demo`: a sample pipeline on the embedded GitLab and Kubernetes, run by podrunner (see
// run-demo.ts). Heavy imports stay inside the action.
import { Command, InvalidArgumentError, Option } from 'commander';

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
};

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run a sample pipeline (the getting-started guide’s) on the embedded GitLab and Kubernetes, with podrunner run as the manager: live job logs, then a summary',
    )
    .option('--keep', 'leave GitLab, Kubernetes and the manager running after the pipeline, until Ctrl-C')
    .option(
      '--dir <dir>',
      'put config.toml, kubeconfig and the manager log here (kept); default: a temporary directory',
    )
    .option('--no-color', 'no colours (also without a terminal, or with NO_COLOR set)')
    .addOption(
      new Option('--timeout <seconds>', 'give up on the pipeline after this long')
        .default(300)
        .argParser(positiveInt),
    )
    .addOption(new Option('--project <dir>', 'push this project directory instead of the sample').hideHelp())
    .addHelpText(
      'after',
      `
Exit codes:
  0    the pipeline passed
  1    the pipeline failed, was canceled or did not finish in time
  2    usage error (or an unreadable --project)
  3    the embedded GitLab and Kubernetes or the manager could not start
  130  interrupted`,
    )
    .action(
      async (opts: { keep?: boolean; dir?: string; color: boolean; timeout: number; project?: string }) => {
        const { runDemo } = await import('./run-demo.ts');
        const { wantColor } = await import('./style.ts');
        process.exitCode = await runDemo({
          keep: opts.keep === true,
          dir: opts.dir,
          color: wantColor(opts.color, process.stdout, process.env),
          timeoutSeconds: opts.timeout,
          project: opts.project,
          out: process.stdout,
        });
      },
    );
}
