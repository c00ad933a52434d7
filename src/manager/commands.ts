// The manager's commands: run, register, verify, unregister, list — gitlab-runner's flags and environment
// variables, so existing scripts and the Helm chart's entrypoint keep working. Actions import their
// implementation lazily so `podrunner --help` stays fast.
import { Command, type CommanderError, Option } from 'commander';
import { defaultConfigPath } from './config-path.ts';
import { EXIT, exitCodeHelp } from './exit-codes.ts';
import { entryFlags } from './register-flags.ts';

const configOption = () =>
  new Option(
    '-c, --config <path>',
    'config.toml (default: $CONFIG_FILE, /etc/gitlab-runner/config.toml as root, else ~/.gitlab-runner/config.toml)',
  );

/** Usage errors exit 2; help and version exit 0. */
function withExitCodes(command: Command): Command {
  return command.exitOverride((err: CommanderError) => {
    const ok =
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.help' ||
      err.code === 'commander.version';
    process.exit(ok ? EXIT.OK : EXIT.USAGE);
  });
}

const finish = (code: number) => {
  process.exitCode = code;
};

function runCommand(): Command {
  return withExitCodes(
    new Command('run')
      .description('run the manager: take jobs from GitLab and run them as pods')
      .addOption(configOption())
      .addOption(
        new Option(
          '--listen-address <address>',
          'serve /metrics, /healthz and /readyz here (e.g. :9252)',
        ).env('LISTEN_ADDRESS'),
      )
      .addOption(
        new Option(
          '--log-level <level>',
          'panic, fatal, error, warn, info, debug (default: log_level of config.toml, else info)',
        ).env('LOG_LEVEL'),
      )
      .addOption(
        new Option(
          '--log-format <format>',
          'json, or text/runner for human-readable lines (default: pretty on a terminal, else JSON)',
        ).env('LOG_FORMAT'),
      )
      .addOption(new Option('-d, --working-directory <dir>', 'change to this directory first'))
      .addOption(
        new Option(
          '-u, --user <user>',
          'accepted for gitlab-runner compatibility; podrunner does not switch users',
        ),
      )
      .addOption(new Option('--service <name>', 'accepted for gitlab-runner compatibility').hideHelp())
      .addOption(
        new Option(
          '--executor-plugin <name>',
          'executor plug-in: kubernetes, or fake (runs jobs without a cluster)',
        )
          .env('PODRUNNER_EXECUTOR_PLUGIN')
          .default('kubernetes'),
      )
      .addHelpText(
        'after',
        `
Signals: SIGQUIT stops taking jobs and lets running ones finish (up to shutdown_timeout); SIGTERM does the
same inside a Kubernetes pod and aborts running jobs elsewhere; SIGINT aborts running jobs; a second signal
aborts running jobs now, a third exits at once. SIGHUP (or editing config.toml) reloads the config.
${exitCodeHelp}`,
      )
      .action(async (opts: Record<string, string | undefined>) => {
        const { runManager } = await import('./run.ts');
        if (opts.user)
          process.stderr.write(
            `podrunner run: --user ${opts.user} is ignored (podrunner does not switch users)\n`,
          );
        const code = await runManager({
          config: opts.config ?? defaultConfigPath(),
          listenAddress: opts.listenAddress,
          logLevel: opts.logLevel,
          logFormat: opts.logFormat,
          executorPlugin: opts.executorPlugin ?? 'kubernetes',
          workingDirectory: opts.workingDirectory,
        });
        process.exit(code);
      }),
  );
}

function registerCommand(): Command {
  const cmd = new Command('register')
    .description(
      'add a [[runners]] entry to config.toml: verify a glrt- runner token, or register with a registration token',
    )
    .addOption(configOption())
    .addOption(new Option('-u, --url <url>', 'GitLab instance URL').env('CI_SERVER_URL'))
    .addOption(
      new Option(
        '-t, --token <token>',
        'runner authentication token (glrt-…); env CI_SERVER_TOKEN or RUNNER_TOKEN',
      ),
    )
    .addOption(
      new Option('-r, --registration-token <token>', 'registration token (deprecated workflow)').env(
        'REGISTRATION_TOKEN',
      ),
    )
    .addOption(new Option('--name <name>', 'name of the runner in config.toml').env('RUNNER_NAME'))
    .addOption(new Option('--description <name>', 'same as --name').hideHelp())
    .addOption(
      new Option('--executor <executor>', 'executor (podrunner runs kubernetes)').env('RUNNER_EXECUTOR'),
    )
    .addOption(
      new Option(
        '--template-config <path>',
        'TOML file whose [[runners]] entry fills what flags and env leave empty',
      ).env('TEMPLATE_CONFIG_FILE'),
    )
    .addOption(new Option('-n, --non-interactive', 'never prompt').env('REGISTER_NON_INTERACTIVE'))
    .addOption(
      new Option('--leave-runner', 'keep the runner in GitLab if writing config.toml fails').env(
        'REGISTER_LEAVE_RUNNER',
      ),
    )
    .addOption(
      new Option('--tag-list <tags>', 'comma-separated tags (registration tokens only)').env(
        'RUNNER_TAG_LIST',
      ),
    )
    .addOption(
      new Option('--run-untagged [bool]', 'run untagged jobs (registration tokens only)').env(
        'REGISTER_RUN_UNTAGGED',
      ),
    )
    .addOption(
      new Option('--locked [bool]', 'lock to the project (registration tokens only; default true)').env(
        'REGISTER_LOCKED',
      ),
    )
    .addOption(
      new Option('--access-level <level>', 'not_protected or ref_protected (registration tokens only)').env(
        'REGISTER_ACCESS_LEVEL',
      ),
    )
    .addOption(
      new Option('--maximum-timeout <seconds>', 'maximum job timeout (registration tokens only)').env(
        'REGISTER_MAXIMUM_TIMEOUT',
      ),
    )
    .addOption(
      new Option('--paused [bool]', 'register paused (registration tokens only)').env('REGISTER_PAUSED'),
    )
    .addOption(
      new Option('--maintenance-note <note>', 'maintenance note (registration tokens only)').env(
        'REGISTER_MAINTENANCE_NOTE',
      ),
    );
  const specs = entryFlags.map((spec) => {
    const arg =
      spec.kind === 'bool'
        ? '[bool]'
        : spec.kind === 'list' || spec.kind === 'multi'
          ? '<value...>'
          : '<value>';
    const option = new Option(`--${spec.flag} ${arg}`, spec.description);
    if (spec.env) option.env(spec.env);
    cmd.addOption(option);
    return { spec, attribute: option.attributeName() };
  });
  cmd.addHelpText('after', exitCodeHelp).action(async (opts: Record<string, unknown>) => {
    const { registerRunner } = await import('./register.ts');
    const entry = specs.flatMap(({ spec, attribute }) =>
      opts[attribute] === undefined ? [] : [{ spec, raw: opts[attribute] as string | boolean | string[] }],
    );
    finish(
      await registerRunner(
        {
          ...(opts as Record<string, string | boolean | undefined>),
          config: (opts.config as string | undefined) ?? defaultConfigPath(),
        },
        entry,
      ),
    );
  });
  return withExitCodes(cmd);
}

function verifyCommand(): Command {
  return withExitCodes(
    new Command('verify')
      .description('check config.toml, then that GitLab accepts every runner token ("is valid" / "is alive")')
      .addOption(configOption())
      .option('-n, --name <name>', 'only the runner with this name')
      .option('-u, --url <url>', 'only runners of this GitLab URL')
      .option('-t, --token <token>', 'only the runner with this token')
      .option('--delete', 'remove runners GitLab no longer knows from config.toml')
      .addHelpText('after', exitCodeHelp)
      .action(async (opts: Record<string, string | boolean | undefined>) => {
        const { verifyRunners } = await import('./verify.ts');
        finish(
          await verifyRunners({
            ...opts,
            config: (opts.config as string | undefined) ?? defaultConfigPath(),
          }),
        );
      }),
  );
}

function unregisterCommand(): Command {
  return withExitCodes(
    new Command('unregister')
      .description('remove runners from GitLab and from config.toml (glrt- tokens: only this manager)')
      .addOption(configOption())
      .addOption(new Option('-n, --name <name>', 'the runner with this name'))
      .addOption(new Option('-u, --url <url>', 'GitLab URL of the runner').env('CI_SERVER_URL'))
      .addOption(new Option('-t, --token <token>', 'token of the runner').env('CI_SERVER_TOKEN'))
      .option('--all-runners', 'every runner of config.toml')
      .addHelpText('after', exitCodeHelp)
      .action(async (opts: Record<string, string | boolean | undefined>) => {
        const { unregisterRunners } = await import('./unregister.ts');
        finish(
          await unregisterRunners({
            ...opts,
            config: (opts.config as string | undefined) ?? defaultConfigPath(),
          }),
        );
      }),
  );
}

function listCommand(): Command {
  return withExitCodes(
    new Command('list')
      .description('list the runners of config.toml')
      .addOption(configOption())
      .addHelpText('after', exitCodeHelp)
      .action(async (opts: { config?: string }) => {
        const { listRunners } = await import('./list.ts');
        finish(await listRunners({ config: opts.config ?? defaultConfigPath() }));
      }),
  );
}

export function managerCommands(): Command[] {
  return [runCommand(), registerCommand(), verifyCommand(), unregisterCommand(), listCommand()];
}
