// podrunner-helper: the program of the helper image (docs/pod-contract.md).
//   prepare — the `helper` init container: get sources, restore cache, download artifacts
//   upload  — the `uploader` container: wait for the build, save cache, upload artifacts
import { Command } from 'commander';
import { version } from '../src/version.ts';

const sink = { write: (text: string) => process.stdout.write(text) };

async function finish(code: Promise<number>): Promise<void> {
  const exitCode = await code;
  // Let stdout drain before exiting.
  process.stdout.write('', () => process.exit(exitCode));
}

const program = new Command('podrunner-helper')
  .description('sources, cache and artifacts inside a podrunner job pod')
  .version(version, '-v, --version');

program
  .command('prepare')
  .description('get sources, restore cache and download artifacts (the helper init container)')
  .option(
    '--job-dir <dir>',
    'where job.json and helper.json are (default /podrunner/job, env PODRUNNER_JOB_DIR)',
  )
  .option('--status-dir <dir>', 'hand-off markers (default from helper.json, env PODRUNNER_STATUS_DIR)')
  .option(
    '--termination-log <file>',
    'result file (default /dev/termination-log, env PODRUNNER_TERMINATION_LOG)',
  )
  .action(async (opts: { jobDir?: string; statusDir?: string; terminationLog?: string }) => {
    const { prepareCommand } = await import('./commands/prepare.ts');
    await finish(prepareCommand(opts, sink));
  });

program
  .command('upload')
  .description('wait for the build, then save cache and upload artifacts (the uploader container)')
  .option(
    '--job-dir <dir>',
    'where job.json and helper.json are (default /podrunner/job, env PODRUNNER_JOB_DIR)',
  )
  .option('--status-dir <dir>', 'hand-off markers (default from helper.json, env PODRUNNER_STATUS_DIR)')
  .option(
    '--termination-log <file>',
    'result file (default /dev/termination-log, env PODRUNNER_TERMINATION_LOG)',
  )
  .action(async (opts: { jobDir?: string; statusDir?: string; terminationLog?: string }) => {
    const { uploadCommand } = await import('./commands/upload.ts');
    await finish(uploadCommand(opts, sink));
  });

await program.parseAsync(process.argv);
