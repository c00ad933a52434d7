// `podrunner demo`: the embedded GitLab and Kubernetes (process mode), `podrunner run` as its own process,
// the sample project pushed and its pipeline run, each job's log printed live as GitLab shows it, then a
// summary. Exit code 0 only when the pipeline passed.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatDuration } from '../trace/timing.ts';
import { restPipelineApi } from './gitlab-rest.ts';
import type { LocalStack } from './local-stack.ts';
import { type ManagerProcess, startManagerProcess } from './manager-process.ts';
import { type FollowResult, followPipeline, type JobInfo } from './pipeline-follower.ts';
import { type ProjectFiles, readProjectFiles, SAMPLE_PROJECT_DIR } from './project-files.ts';
import { createStyle, type Style } from './style.ts';
import { failureLines, type JobSummary, renderSummaryTable, statusLabel } from './summary.ts';

export interface DemoOptions {
  /** Where config.toml, kubeconfig and the manager's log go (kept); default: a temporary directory. */
  dir?: string | undefined;
  /** Leave everything running after the pipeline, until SIGINT/SIGTERM. */
  keep: boolean;
  color: boolean;
  /** Another project directory to push instead of the sample (hidden option; tests). */
  project?: string | undefined;
  timeoutSeconds: number;
  out: NodeJS.WritableStream;
}

export const DEMO_EXIT = {
  PASSED: 0,
  /** The pipeline failed, was canceled or did not finish in time. */
  FAILED: 1,
  /** A bad option or project directory. */
  USAGE: 2,
  /** The embedded stack or the manager could not start. */
  ENVIRONMENT: 3,
  INTERRUPTED: 130,
} as const;

/**
 * `[runners.kubernetes]` as in the getting-started guide's values file (resources per job pod, service
 * containers, privileged for docker:dind), on top of the local stack's host and namespace.
 */
const GUIDE_KUBERNETES_TOML = [
  '    image = "alpine:latest"',
  '    cpu_limit = "1"',
  '    memory_limit = "1Gi"',
  '    cpu_request = "500m"',
  '    memory_request = "512Mi"',
  '    service_cpu_limit = "1"',
  '    service_memory_limit = "1Gi"',
  '    privileged = true',
].join('\n');

/** The guide registers its runner with these tags and "run untagged jobs". */
const RUNNER_TAGS = ['kubernetes', 'docker'];
const PROJECT_NAME = 'runner-test';

class Printer {
  readonly style: Style;
  private readonly out: NodeJS.WritableStream;
  constructor(out: NodeJS.WritableStream, style: Style) {
    this.out = out;
    this.style = style;
  }
  line(text = ''): void {
    this.out.write(`${text}\n`);
  }
  step(text: string): void {
    this.line(`${this.style.cyan('==>')} ${text}`);
  }
  error(text: string): void {
    this.line(this.style.red(`podrunner demo: ${text}`));
  }
}

/** What one run started, so that whatever happens it is all stopped. */
class Session {
  stack: LocalStack | undefined;
  manager: ManagerProcess | undefined;
  /** Set once no job can be running any more (the manager can then drain with SIGQUIT). */
  pipelineOver = false;
  readonly interrupt = new AbortController();
  readonly dir: string;
  readonly print: Printer;
  private readonly options: DemoOptions;

  constructor(options: DemoOptions, dir: string, print: Printer) {
    this.options = options;
    this.dir = dir;
    this.print = print;
  }

  async run(files: ProjectFiles): Promise<number> {
    const { print, options } = this;
    const { style } = print;
    print.line(
      style.bold('podrunner demo: a pipeline on the embedded GitLab and Kubernetes, run by podrunner'),
    );
    print.line();
    let stack: LocalStack;
    try {
      const { startLocalStack } = await import('./local-stack.ts');
      stack = await startLocalStack({
        mode: 'process',
        dir: this.dir,
        tags: RUNNER_TAGS,
        // As if someone watched every job in GitLab's UI: the runner sends its log every 3 s.
        gitlab: { alwaysWatched: true },
        kubernetesToml: GUIDE_KUBERNETES_TOML,
      });
    } catch (err) {
      print.error(`cannot start the embedded GitLab and Kubernetes: ${(err as Error).message}`);
      return DEMO_EXIT.ENVIRONMENT;
    }
    this.stack = stack;
    const tokenPath = join(this.dir, 'gitlab-admin-token');
    await writeFile(tokenPath, `${stack.gitlab.adminToken}\n`, { mode: 0o600 });
    print.step(`Embedded GitLab at ${stack.gitlab.url} (admin token in ${tokenPath})`);
    print.step(
      `Embedded Kubernetes at ${stack.kube.url} (process mode: each pod's containers run as local processes in the pod's own namespaces)`,
    );
    print.step(
      `Runner #${stack.runner.id} created (tags: ${RUNNER_TAGS.join(', ')}; runs untagged jobs); config.toml in ${stack.configPath}`,
    );
    print.line();
    print.line('Watch the job pods meanwhile, in another terminal:');
    print.line();
    print.line(`  ${style.bold(`KUBECONFIG=${stack.kubeconfigPath} kubectl get pods -w`)}`);
    print.line();

    const logPath = join(this.dir, 'manager.log');
    try {
      this.manager = await startManagerProcess({
        configPath: stack.configPath,
        logPath,
        readyTimeoutMs: 60_000,
      });
    } catch (err) {
      print.error(`the manager did not start: ${(err as Error).message}`);
      return DEMO_EXIT.ENVIRONMENT;
    }
    const manager = this.manager;
    print.step(
      `podrunner run is ready (pid ${manager.pid}; log in ${logPath}; metrics at ${manager.url}/metrics)`,
    );
    this.interrupt.signal.throwIfAborted();

    const project = await stack.gitlab.createProject({ name: PROJECT_NAME });
    const sha = await stack.gitlab.commitFiles(project.id, files, { message: 'Add .gitlab-ci.yml' });
    print.step(
      `Pushed ${project.pathWithNamespace} (${Object.keys(files).length} files, commit ${sha.slice(0, 8)})`,
    );
    let pipelineId: number;
    try {
      pipelineId = (await stack.gitlab.createPipeline(project.id)).id;
    } catch (err) {
      print.error(`GitLab refused the pipeline: ${(err as Error).message}`);
      this.pipelineOver = true;
      return DEMO_EXIT.FAILED;
    }
    const jobs = stack.gitlab.pipeline(pipelineId)?.jobs ?? [];
    const stages = new Map<string, string[]>();
    for (const j of jobs) stages.set(j.stage, [...(stages.get(j.stage) ?? []), j.name]);
    print.step(
      `Pipeline #${pipelineId}: ${[...stages].map(([stage, names]) => `${stage} (${names.join(', ')})`).join(' → ')}`,
    );
    print.line();

    const width = Math.max(4, ...jobs.map((j) => j.name.length));
    const order = new Map(jobs.map((j, i) => [j.id, i]));
    const prefix = (job: JobInfo) => style.job(order.get(job.id) ?? 0, `${job.name.padEnd(width)} |`);
    const api = restPipelineApi({
      url: stack.gitlab.url,
      token: stack.gitlab.adminToken,
      projectId: project.id,
      pipelineId,
    });
    let result: FollowResult;
    try {
      result = await followPipeline(api, {
        color: options.color,
        intervalMs: 250,
        timeoutMs: options.timeoutSeconds * 1000,
        signal: this.interrupt.signal,
        onLines: (job, lines) => {
          for (const line of lines) print.line(`${prefix(job)} ${line}`);
        },
        onJobFinished: (job) => {
          const seconds = job.info.durationSeconds;
          const took = seconds === null ? '' : ` in ${formatDuration(seconds * 1000)}`;
          print.line(`${prefix(job.info)} ${style.dim(`(job ${statusLabel(job.info)}${took})`)}`);
        },
      });
    } finally {
      await api.close();
    }
    this.pipelineOver = !result.timedOut;

    const passed = !result.timedOut && result.pipeline.status === 'success';
    this.printSummary(result, `Pipeline #${pipelineId} (${project.pathWithNamespace})`);
    if (!passed) print.line(style.dim(`The manager's log: ${logPath}`));

    if (options.keep) {
      print.line();
      print.line(style.bold('Everything stays up until Ctrl-C:'));
      print.line(
        `  GitLab       ${stack.gitlab.url}/api/v4/projects/${project.id}/jobs (PRIVATE-TOKEN in ${tokenPath})`,
      );
      print.line(`  Kubernetes   KUBECONFIG=${stack.kubeconfigPath} kubectl get pods,events`);
      print.line(`  Manager      ${manager.url}/metrics (log in ${logPath})`);
      await this.untilInterrupted();
    }
    return passed ? DEMO_EXIT.PASSED : DEMO_EXIT.FAILED;
  }

  private printSummary(result: FollowResult, title: string): void {
    const { print, options } = this;
    const { style } = print;
    const summaries: JobSummary[] = result.jobs.map((j) => ({
      name: j.info.name,
      stage: j.info.stage,
      status: j.info.status,
      allowFailure: j.info.allowFailure,
      durationSeconds: j.info.durationSeconds,
      failureReason: j.info.failureReason,
      lines: j.lines,
    }));
    const { pipeline } = result;
    const took =
      pipeline.finishedAt !== null
        ? ` in ${formatDuration(Date.parse(pipeline.finishedAt) - Date.parse(pipeline.createdAt))}`
        : '';
    let verdict: string;
    if (result.timedOut) {
      verdict = style.red(`did not finish within ${options.timeoutSeconds} s (status: ${pipeline.status})`);
    } else if (pipeline.status === 'success') {
      verdict = style.green(`passed${took}`);
    } else {
      verdict = style.red(`${pipeline.status}${took}`);
    }
    print.line();
    print.line(`${style.bold(title)} ${verdict}`);
    print.line();
    for (const line of renderSummaryTable(summaries, style)) print.line(`  ${line}`);
    const problems = failureLines(summaries);
    if (result.timedOut) {
      for (const j of result.jobs) {
        if (!j.done && j.info.status !== 'skipped' && j.info.status !== 'created') {
          problems.push(`Job ${j.info.name} (stage ${j.info.stage}) is still ${j.info.status}`);
        }
      }
    }
    if (problems.length > 0) print.line();
    for (const line of problems) print.line(style.red(line));
  }

  private untilInterrupted(): Promise<void> {
    return new Promise<void>((done) => {
      const { signal } = this.interrupt;
      if (signal.aborted) return done();
      signal.addEventListener('abort', () => done(), { once: true });
      void this.manager?.exited.then((exit) => {
        this.print.line(
          this.print.style.red(`podrunner run exited (code ${exit}); see ${this.manager?.logPath}`),
        );
        done();
      });
    });
  }

  /** Stops the manager, then the embedded GitLab and Kubernetes. */
  async stop(): Promise<void> {
    if (this.manager) {
      // SIGQUIT, as a deployment is stopped, once the pipeline is over (nothing left to drain). When the
      // demo is interrupted or gives up waiting, SIGINT aborts the running jobs, which the manager reports
      // failed to GitLab before it exits.
      const exit = await this.manager.stop(this.pipelineOver ? 'SIGQUIT' : 'SIGINT', 60_000);
      if (exit !== 0) {
        this.print.line(
          this.print.style.yellow(`podrunner run exited with code ${exit}; see ${this.manager.logPath}`),
        );
      }
    }
    await this.stack?.stop();
  }
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const style = createStyle(options.color);
  const print = new Printer(options.out, style);

  let files: ProjectFiles;
  try {
    files = await readProjectFiles(options.project ? resolve(options.project) : SAMPLE_PROJECT_DIR);
  } catch (err) {
    print.error((err as Error).message);
    return DEMO_EXIT.USAGE;
  }
  const ownDir = options.dir === undefined;
  const dir = options.dir ? resolve(options.dir) : await mkdtemp(join(tmpdir(), 'podrunner-demo-'));
  await mkdir(dir, { recursive: true });

  const session = new Session(options, dir, print);
  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    // Ctrl-C under `npm run` arrives twice at once (from the terminal, and forwarded by npm): a repeat
    // within a second is the same request.
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      print.line();
      print.line(style.yellow(`${signal}: stopping (a second ${signal} stops at once)`));
      session.interrupt.abort(new Error(signal));
      return;
    }
    if (Date.now() - firstSignalAt < 1000) return;
    // The manager was started with a parent-death signal where setpriv exists; kill it here in any case.
    void session.manager?.stop('SIGKILL', 0);
    process.exit(DEMO_EXIT.INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let code: number = DEMO_EXIT.FAILED;
  try {
    code = await session.run(files);
  } catch (err) {
    if (session.interrupt.signal.aborted) code = DEMO_EXIT.INTERRUPTED;
    else print.error((err as Error).stack ?? String(err));
  } finally {
    await session.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (ownDir && code === DEMO_EXIT.PASSED) await rm(dir, { recursive: true, force: true });
  else if (ownDir) print.line(style.dim(`The demo's files are kept in ${dir}`));
  return code;
}
