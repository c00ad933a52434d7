// What a virtual container does, decided when it starts: from `sim.podrunner.dev/…` annotations if
// present, else podrunner's own containers (helper, build, uploader per docs/pod-contract.md), else
// the command through the tiny shell.
import { z } from 'zod';
import { parseDuration } from '../kubelet/duration.ts';
import { simAnnotation } from '../kubelet/faults.ts';
import type { ContainerSpec, ResolvedVolume } from '../runtime.ts';
import { type Action, ShellCompiler } from './shell.ts';

export interface ProgramOptions {
  /** A container with nothing to interpret (no command, no ports) runs this long. */
  defaultDurationMs: number;
  /** An unknown command takes this long. */
  unknownCommandMs: number;
  /** How long podrunner's helper (prepare) and uploader take. */
  helperMs: number;
  uploaderMs: number;
  /** Declared ports answer probes this long after the start (annotation `listen-delay` overrides). */
  listenDelayMs: number;
}

export interface ContainerProgram {
  actions: Action[];
  /** Replaces whatever the container wrote as its termination message. */
  terminationMessage?: string;
  logRate?: { linesPerSecond: number; bytesPerSecond: number };
  listenDelayMs: number;
}

/** `{{ts}}` in written text becomes the Unix time when it is written (section markers). */
export const timestampPlaceholder = '{{ts}}';

const section = {
  start: (name: string, header: string) =>
    `section_start:${timestampPlaceholder}:${name}\r\x1b[0K\x1b[0K\x1b[36;1m${header}\x1b[0;m\n`,
  end: (name: string) => `section_end:${timestampPlaceholder}:${name}\r\x1b[0K\n`,
};

const out = (data: string): Action => ({ kind: 'write', stream: 'stdout', data });

function argvOf(spec: ContainerSpec): string[] {
  return [...(spec.command ?? []), ...(spec.args ?? [])];
}

function envMap(spec: ContainerSpec): Map<string, string> {
  return new Map(spec.env.map((e) => [e.name, e.value]));
}

/** A file of a files-kind volume mounted in this container, by its path in the container. */
function fileAt(spec: ContainerSpec, volumes: ResolvedVolume[], path: string): Uint8Array | undefined {
  for (const m of spec.mounts) {
    const prefix = m.mountPath.endsWith('/') ? m.mountPath : `${m.mountPath}/`;
    if (!path.startsWith(prefix)) continue;
    const v = volumes.find((x) => x.name === m.volume);
    if (v?.kind !== 'files') continue;
    const rel = (m.subPath ? `${m.subPath}/` : '') + path.slice(prefix.length);
    const f = v.files.find((x) => x.path === rel);
    if (f) return f.content;
  }
  return undefined;
}

const jobShape = z
  .object({
    variables: z.array(z.object({ key: z.string(), value: z.string().nullish() }).loose()).nullish(),
    steps: z.array(z.object({ name: z.string(), script: z.array(z.string()).nullish() }).loose()).nullish(),
  })
  .loose();

type Role = 'helper' | 'build' | 'uploader' | undefined;

function podrunnerRole(spec: ContainerSpec): Role {
  const argv = argvOf(spec).join(' ');
  if (/podrunner-helper\b.*\bprepare\b/.test(argv)) return 'helper';
  if (/podrunner-helper\b.*\bupload\b/.test(argv)) return 'uploader';
  if (
    spec.name === 'build' &&
    (spec.mounts.some((m) => m.mountPath === '/podrunner/job') || argv.includes('/podrunner/job/'))
  ) {
    return 'build';
  }
  return undefined;
}

/** Compiles one script line, sharing the environment; returns its actions and status. */
function compileLine(
  line: string,
  env: Map<string, string>,
  spec: ContainerSpec,
  o: ProgramOptions,
): { actions: Action[]; status: number; forever: boolean } {
  const compiled = new ShellCompiler({
    env,
    terminationMessagePath: spec.terminationMessagePath,
    unknownCommandMs: o.unknownCommandMs,
  }).compileScript(line).actions;
  const last = compiled[compiled.length - 1];
  if (last?.kind === 'forever') return { actions: compiled, status: 0, forever: true };
  const status = last?.kind === 'exit' ? last.code : 0;
  return { actions: compiled.slice(0, -1), status, forever: false };
}

function scriptSection(
  name: string,
  header: string,
  lines: string[],
  env: Map<string, string>,
  spec: ContainerSpec,
  o: ProgramOptions,
): { actions: Action[]; status: number; forever: boolean } {
  const actions: Action[] = [out(section.start(name, header))];
  let status = 0;
  for (const line of lines) {
    actions.push(out(`\x1b[32;1m$ ${line}\x1b[0;m\n`));
    const r = compileLine(line, env, spec, o);
    actions.push(...r.actions);
    if (r.forever) return { actions, status: 0, forever: true };
    status = r.status;
    if (status !== 0) break;
  }
  actions.push(out(section.end(name)));
  return { actions, status, forever: false };
}

function buildProgram(spec: ContainerSpec, volumes: ResolvedVolume[], o: ProgramOptions): Action[] {
  const raw = fileAt(spec, volumes, '/podrunner/job/job.json');
  let job: z.infer<typeof jobShape> | undefined;
  if (raw) {
    try {
      const parsed = jobShape.safeParse(JSON.parse(Buffer.from(raw).toString('utf8')));
      if (parsed.success) job = parsed.data;
    } catch {
      job = undefined;
    }
  }
  const env = envMap(spec);
  for (const v of job?.variables ?? []) env.set(v.key, v.value ?? '');
  const script = job?.steps?.find((s) => s.name === 'script')?.script ?? [];
  const after = job?.steps?.find((s) => s.name === 'after_script')?.script ?? [];
  const result = (exitCode: number, canceled: boolean): Action => ({
    kind: 'message',
    text: JSON.stringify({ exit_code: exitCode, timed_out: false, canceled }),
    append: false,
  });
  const afterActions = (): Action[] =>
    after.length > 0
      ? scriptSection('after_script', 'Running after_script', after, new Map(env), spec, o).actions
      : [];
  // build.sh traps TERM (cancel): it stops the script, runs after_script and reports `canceled`.
  const onTerm: Action[] = [...afterActions(), result(143, true), { kind: 'exit', code: 143 }];
  const actions: Action[] = [{ kind: 'trap', handler: onTerm }];
  if (job === undefined) {
    actions.push(out('[virtual] build: no job script found, simulating a short successful build\n'));
    actions.push({ kind: 'sleep', ms: o.defaultDurationMs });
    actions.push(result(0, false), { kind: 'exit', code: 0 });
    return actions;
  }
  const main = scriptSection(
    'step_script',
    'Executing "step_script" stage of the job script',
    script,
    env,
    spec,
    o,
  );
  actions.push(...main.actions);
  if (main.forever) return actions;
  actions.push(...afterActions(), result(main.status, false), { kind: 'exit', code: main.status });
  return actions;
}

function helperProgram(o: ProgramOptions): Action[] {
  return [
    out(section.start('get_sources', 'Getting source from Git repository')),
    out('\x1b[32;1mFetching changes...\x1b[0;m\n'),
    out('[virtual] sources are not cloned by the virtual runtime\n'),
    { kind: 'sleep', ms: o.helperMs },
    out(section.end('get_sources')),
    { kind: 'message', text: '{"ok":true}', append: false },
    { kind: 'exit', code: 0 },
  ];
}

function uploaderProgram(o: ProgramOptions): Action[] {
  return [
    // The uploader ignores SIGTERM: it waits for the build, then uploads (docs/pod-contract.md).
    { kind: 'trap', handler: 'ignore' },
    { kind: 'waitFor', container: 'build' },
    out(section.start('upload_artifacts', 'Uploading artifacts')),
    out('[virtual] nothing to upload in the virtual runtime\n'),
    { kind: 'sleep', ms: o.uploaderMs },
    out(section.end('upload_artifacts')),
    { kind: 'message', text: '{"ok":true,"uploaded":0}', append: false },
    { kind: 'exit', code: 0 },
  ];
}

function unescapeAnnotation(text: string): string {
  return text.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
}

/** The program of one virtual container. */
export function programFor(
  spec: ContainerSpec,
  volumes: ResolvedVolume[],
  o: ProgramOptions,
): ContainerProgram {
  const a = (name: string): string | undefined => simAnnotation(spec.annotations, name, spec.name);
  const durationText = a('duration');
  const exitText = a('exit-code');
  const outputText = a('output');
  let actions: Action[];
  if (durationText !== undefined || exitText !== undefined || outputText !== undefined) {
    actions = [];
    if (outputText !== undefined) {
      const text = unescapeAnnotation(outputText);
      actions.push(out(text.endsWith('\n') ? text : `${text}\n`));
    }
    const ms = durationText === undefined ? o.defaultDurationMs : parseDuration(durationText);
    if (durationText === 'forever' || durationText === 'infinity') actions.push({ kind: 'forever' });
    else {
      if (ms && ms > 0) actions.push({ kind: 'sleep', ms });
      actions.push({ kind: 'exit', code: Number.parseInt(exitText ?? '0', 10) & 0xff });
    }
  } else {
    const role = podrunnerRole(spec);
    if (role === 'helper') actions = helperProgram(o);
    else if (role === 'uploader') actions = uploaderProgram(o);
    else if (role === 'build') actions = buildProgram(spec, [...volumes], o);
    else actions = genericProgram(spec, o);
  }
  if (a('ignore-sigterm') === 'true') actions.unshift({ kind: 'trap', handler: 'ignore' });
  const lines = Number(a('log-lines-per-second') ?? 0) || 0;
  const bytes = Number(a('log-bytes-per-second') ?? 0) || 0;
  const message = a('termination-message');
  const listen = parseDuration(a('listen-delay') ?? '');
  return {
    actions,
    ...(message !== undefined ? { terminationMessage: unescapeAnnotation(message) } : {}),
    ...(lines > 0 || bytes > 0 ? { logRate: { linesPerSecond: lines, bytesPerSecond: bytes } } : {}),
    listenDelayMs: listen ?? o.listenDelayMs,
  };
}

/** Images that are servers: run without a command, they serve until stopped (CI services). */
const serverImage =
  /(^|\/)(postgres|postgis|mysql|mariadb|redis|valkey|mongo|memcached|rabbitmq|elasticsearch|opensearch|nginx|httpd|minio|localstack|zookeeper|kafka|registry|vault|consul|etcd|standalone-chrome|standalone-firefox|selenium)[^/]*(:|@|$)|dind/;

/** Commands the tiny shell knows to end by themselves. */
const finiteCommands = new Set([
  'sh',
  'bash',
  'ash',
  'dash',
  'zsh',
  'ksh',
  'busybox',
  'echo',
  'printf',
  'sleep',
  'true',
  'false',
  'exit',
  ':',
  'tail',
  'nc',
  'ncat',
  'socat',
  'exec',
  'env',
]);

function genericProgram(spec: ContainerSpec, o: ProgramOptions): Action[] {
  const argv = argvOf(spec);
  const serves = spec.ports.length > 0 || serverImage.test(spec.image);
  if (argv.length === 0) {
    if (serves) {
      const where = spec.ports.length > 0 ? ` listening on port ${spec.ports.join(', ')}` : ' serving';
      return [out(`[virtual] ${spec.image}${where}\n`), { kind: 'forever' }];
    }
    return [
      out(`[virtual] ${spec.image} ran\n`),
      { kind: 'sleep', ms: o.defaultDurationMs },
      { kind: 'exit', code: 0 },
    ];
  }
  const program = (argv[0] ?? '').slice((argv[0] ?? '').lastIndexOf('/') + 1);
  if (serves && !finiteCommands.has(program)) {
    // A service's own entrypoint or flags (`docker:dind --tls=false`): it serves until stopped.
    return [out(`[virtual] ${spec.image} ${argv.join(' ')}\n`), { kind: 'forever' }];
  }
  const compiler = new ShellCompiler({
    env: envMap(spec),
    terminationMessagePath: spec.terminationMessagePath,
    unknownCommandMs: o.unknownCommandMs,
  });
  return compiler.compileArgv(argv).actions;
}
