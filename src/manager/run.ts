// `podrunner run`: load config.toml, serve metrics and health, feed jobs to the executor, reload on change
// or SIGHUP, and stop on signals (SIGQUIT graceful; SIGTERM graceful in a pod, else forceful; SIGINT
// forceful; a second signal aborts running jobs now, a third exits at once).
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { groupWarnings } from '../config/issues-log.ts';
import { type ConfigIssue, formatIssue, loadConfig, parseConfig } from '../config/load.ts';
import type { PodrunnerConfig } from '../config/schema/config.ts';
import { loadOrCreateSystemId } from '../config/system-id.ts';
import { watchConfigFile } from '../config/watch.ts';
import { GitLabClient } from '../gitlab/client.ts';
import { GitLabConnections } from '../gitlab/connections.ts';
import { resolveTlsFiles } from '../gitlab/tls.ts';
import { ManagerMetrics } from '../metrics/registry.ts';
import { type MetricsServer, startMetricsServer } from '../metrics/server.ts';
import { version } from '../version.ts';
import type { JobHandler } from './executor.ts';
import { loadExecutor } from './executors.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';
import { createLogger, pinoLevel } from './logger.ts';
import { Manager } from './manager.ts';
import { tuneManagerHeap } from './node-options.ts';
import { TokenRotator } from './token-rotation.ts';

export interface RunOptions {
  config: string;
  listenAddress?: string | undefined;
  logLevel?: string | undefined;
  logFormat?: string | undefined;
  executorPlugin: string;
  workingDirectory?: string | undefined;
  /** For tests: a handler instead of a plug-in name. */
  handler?: JobHandler;
  /** For tests: signals are sent here instead of installed on the process. */
  signals?: NodeJS.EventEmitter;
}

function logWarnings(log: Logger, warnings: ConfigIssue[]): void {
  for (const g of groupWarnings(warnings)) {
    if (g.keys.length > 0) log.warn({ keys: g.keys }, `config: ${g.message}: ${g.keys.join(', ')}`);
    else log.warn(`config: ${g.message}`);
  }
}

const stopSignals = ['SIGQUIT', 'SIGTERM', 'SIGINT'] as const;
type StopSignal = (typeof stopSignals)[number];

export function shutdownModeFor(signal: StopSignal, inPod: boolean): 'graceful' | 'forceful' {
  if (signal === 'SIGQUIT') return 'graceful';
  if (signal === 'SIGTERM' && inPod) return 'graceful';
  return 'forceful';
}

export async function runManager(options: RunOptions): Promise<ExitCode> {
  if (options.workingDirectory) process.chdir(options.workingDirectory);
  const configPath = resolve(options.config);
  const loaded = await loadConfig(configPath);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`podrunner run: ${formatIssue(e)}\n`);
    return EXIT.CONFIG;
  }
  let config: PodrunnerConfig = loaded.config;
  const log = await createLogger({
    level: options.logLevel ?? config.log_level,
    format: options.logFormat ?? config.log_format,
  });
  log.info({ version, config: configPath, pid: process.pid }, 'podrunner starting');
  logWarnings(log, loaded.warnings);
  try {
    tuneManagerHeap();
  } catch (err) {
    log.warn(`${(err as Error).message}; leaving V8's heap growth as it is`);
  }

  const systemId = loadOrCreateSystemId(dirname(configPath));
  if (systemId.problem) log.warn(`${systemId.problem}; using system_id ${systemId.id} for this process only`);

  let handler: JobHandler;
  try {
    handler = options.handler ?? (await loadExecutor(options.executorPlugin, log));
  } catch (err) {
    log.fatal({ err }, (err as Error).message);
    return EXIT.FAILED;
  }

  const metrics = new ManagerMetrics();
  metrics.configurationLoaded.inc();
  const connections = new GitLabConnections({
    retry: {
      onRetry: (r) => log.debug(r, 'retrying a GitLab request'),
      onRetriedRequestEnd: (r) =>
        metrics.apiRequestRetries.inc({ path: r.path.split('?')[0], method: r.method }, r.attempts),
    },
    onTlsProblem: (p) => log.warn(p),
  });
  const manager = new Manager({
    handler,
    connections,
    metrics,
    log,
    systemId: systemId.id,
    certsDir: join(dirname(configPath), 'certs'),
  });

  let server: MetricsServer | undefined;
  const listen = options.listenAddress ?? config.listen_address;
  if (listen) {
    try {
      server = await startMetricsServer(listen, metrics.registry, manager);
      log.info({ url: server.url }, `metrics and health served on ${server.url}`);
    } catch (err) {
      log.fatal({ err }, `cannot listen on ${listen}: ${(err as Error).message}`);
      await connections.close();
      return EXIT.FAILED;
    }
  }

  await manager.start(config);

  const watcher = watchConfigFile(
    configPath,
    async (source, error) => {
      if (source === undefined) {
        metrics.configurationLoadingErrors.inc();
        log.error({ err: error }, 'config reload: cannot read the config; keeping the running one');
        return;
      }
      const next = parseConfig(source, { file: configPath });
      if (!next.ok) {
        metrics.configurationLoadingErrors.inc();
        log.error(
          { errors: next.errors.map(formatIssue) },
          `config reload rejected, keeping the running config: ${next.errors.map(formatIssue).join('; ')}`,
        );
        return;
      }
      metrics.configurationLoaded.inc();
      logWarnings(log, next.warnings);
      if ((next.config.listen_address ?? '') !== (config.listen_address ?? '') && !options.listenAddress) {
        log.warn('config reload: listen_address changes take effect at the next start');
      }
      log.level = pinoLevel(options.logLevel ?? next.config.log_level);
      config = next.config;
      await manager.apply(config);
      rotator.update(config);
      log.info({ concurrent: config.concurrent, runners: config.runners.length }, 'config reloaded');
    },
    { initialSource: loaded.source },
  );
  const rotator = new TokenRotator({
    configPath,
    log,
    clientFor: (runner) =>
      new GitLabClient({
        url: runner.url,
        dispatcher: connections.dispatcherFor(
          runner.url,
          resolveTlsFiles(
            runner.url,
            {
              caFile: runner['tls-ca-file'],
              certFile: runner['tls-cert-file'],
              keyFile: runner['tls-key-file'],
            },
            join(dirname(configPath), 'certs'),
          ),
        ),
        systemId: systemId.id,
        onCall: (call) => metrics.observeApiCall({ ...call, systemId: systemId.id }),
      }),
    onRotated: () => void watcher.reload(),
  });
  rotator.update(config);
  // A change made between the first read and the watch would otherwise go unnoticed.
  void watcher.reload();

  const signals = options.signals ?? process;
  const inPod = Boolean(process.env.KUBERNETES_SERVICE_HOST);
  let received = 0;
  let mode: 'graceful' | 'forceful' | undefined;
  const stopped = new Promise<Awaited<ReturnType<Manager['shutdown']>>>((resolveStop) => {
    const onStop = (signal: StopSignal) => {
      received++;
      if (received === 1) {
        mode = shutdownModeFor(signal, inPod);
        log.info({ signal, mode }, `${signal} received: stopping (${mode})`);
        resolveStop(manager.shutdown(mode, config.shutdown_timeout * 1000, signal));
      } else if (received === 2 && mode === 'graceful') {
        log.warn({ signal }, `${signal} received again: aborting running jobs now`);
        void manager.shutdown('forceful', 0, signal);
      } else {
        log.error({ signal }, `${signal} received again: exiting now`);
        process.exit(EXIT.FAILED);
      }
    };
    for (const s of stopSignals) signals.on(s, onStop);
    signals.on('SIGHUP', () => {
      log.info('SIGHUP received: reloading the config');
      void watcher.reload(true);
    });
  });

  const result = await stopped;
  rotator.close();
  watcher.close();
  await server?.close();
  await handler.close?.();
  await connections.close();
  return result.unreported > 0 ? EXIT.FAILED : EXIT.OK;
}
