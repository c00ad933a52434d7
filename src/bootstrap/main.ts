// Entry point of the bootstrap's HTTP half (run by scripts/bootstrap-runner.sh with Node >= 22.18).
import { bootstrap, readSettings } from './bootstrap.ts';
import { BootstrapError } from './errors.ts';

const log = (line: string) => process.stderr.write(`bootstrap: ${line}\n`);
try {
  await bootstrap(readSettings(process.env), log);
} catch (error) {
  if (!(error instanceof BootstrapError)) throw error;
  log(`error (${error.code}): ${error.message}`);
  process.exitCode = 1;
}
