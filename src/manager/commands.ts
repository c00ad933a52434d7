import { Command } from 'commander';

// Placeholder until the manager lands; replaced by run/register/verify/unregister/list.
export function managerCommands(): Command[] {
  return ['run', 'register', 'verify', 'unregister', 'list'].map((name) =>
    new Command(name).description(`${name} (not built yet)`).action(() => {
      process.stderr.write(`podrunner ${name}: not built yet\n`);
      process.exitCode = 2;
    }),
  );
}
