// `podrunner bench`: how many concurrent jobs one manager sustains, what it costs, and where job start
// latency goes. The implementation is imported lazily so `podrunner --help` stays fast.
import { Command, Option } from 'commander';
import { MANAGER_NODE_OPTIONS } from '../manager/node-options.ts';
import { DEFAULTS } from './options.ts';

interface RawOptions {
  jobs: string;
  concurrency: string;
  jobDuration: string;
  logBytes: string;
  apiLatency: string;
  gitlabLatency: string;
  json?: string;
  svg?: string;
  kubeconfig?: string;
  executorPlugin: string;
  keep?: boolean;
  profile?: string;
  managerNodeOptions?: string;
}

export function benchCommand(): Command {
  return new Command('bench')
    .description(
      'measure how many concurrent jobs one manager sustains: throughput, job start latency, CPU, memory and API requests per job',
    )
    .option('--jobs <n>', 'most jobs per concurrency level (see "jobs per level" below)', DEFAULTS.jobs)
    .option('--concurrency <levels>', 'concurrency levels to sweep, comma-separated', DEFAULTS.concurrency)
    .option('--job-duration <duration>', 'how long each job runs (5s, 500ms, 1m)', DEFAULTS.jobDuration)
    .option('--log-bytes <size>', 'log output per job (64KiB, 1MiB, 0)', DEFAULTS.logBytes)
    .option('--api-latency <duration>', 'latency added to every Kubernetes API request', DEFAULTS.apiLatency)
    .option('--gitlab-latency <duration>', 'latency added to every GitLab request', DEFAULTS.gitlabLatency)
    .option('--json <path>', 'write the report as JSON')
    .option('--svg <path>', 'write a chart of latency and throughput against concurrency')
    .option('--kubeconfig <path>', 'run the pods on this cluster instead of the embedded Kubernetes')
    .addOption(
      new Option('--executor-plugin <name>', 'executor plug-in of the manager under test')
        .choices(['kubernetes', 'fake'])
        .default(DEFAULTS.executorPlugin),
    )
    .option('--keep', 'keep the work directory (config.toml and log of every level) for debugging')
    .option(
      '--profile <dir>',
      'write a V8 CPU profile of the manager per level to DIR/level-N/ (open in Chrome DevTools or speedscope)',
    )
    .option(
      '--manager-node-options <flags>',
      'Node flags for the manager process only, as NODE_OPTIONS ("" for none)',
      MANAGER_NODE_OPTIONS,
    )
    .addHelpText(
      'after',
      `
Each level starts a fresh manager (\`podrunner run\`, in its own process) with \`concurrent = level\` and
queues one pipeline of min(--jobs, max(200, 4 × level)) jobs on the embedded GitLab. The first wave
(min(level, jobs / 4) jobs) is warm-up and left out of the figures. Modes: --executor-plugin fake (no
Kubernetes), the embedded Kubernetes in virtual mode (default), or a real cluster with --kubeconfig.
Progress goes to stderr, the table to stdout. Exit code 0 when every job of every level succeeded, 1
otherwise (the figures are still printed and written), 2 on bad options. See README "Benchmarking".`,
    )
    .action(async (raw: RawOptions) => {
      const { parseBenchOptions } = await import('./options.ts');
      let options: ReturnType<typeof parseBenchOptions>;
      try {
        options = parseBenchOptions({ ...raw, keep: raw.keep ?? false });
      } catch (err) {
        process.stderr.write(`podrunner bench: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const { runBench } = await import('./run.ts');
      const interrupt = new AbortController();
      let interrupts = 0;
      const onSignal = () => {
        interrupts++;
        if (interrupts === 1) {
          process.stderr.write(
            '\npodrunner bench: interrupted; stopping the current level (again to exit now)\n',
          );
          interrupt.abort();
        } else process.exit(130);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        process.exitCode = await runBench(options, {
          stdout: process.stdout,
          stderr: process.stderr,
          signal: interrupt.signal,
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
