// The kubelet's pure decisions: phase, images, quantities, durations, expansion, scheduling text.
import { describe, expect, it } from 'vitest';
import { formatBackOff, formatGoDuration, parseDuration } from '../../../src/sim/kube/kubelet/duration.ts';
import { expand } from '../../../src/sim/kube/kubelet/env.ts';
import { defaultPullPolicy, parseImage } from '../../../src/sim/kube/kubelet/images.ts';
import { cpuMillis, memoryBytes, podRequests, qosClass } from '../../../src/sim/kube/kubelet/resources.ts';
import { cutEventMessage } from '../../../src/sim/kube/kubelet/scheduler.ts';
import { type ContainerView, getPhase, type RunState } from '../../../src/sim/kube/kubelet/status.ts';
import type { PodObject } from '../../../src/sim/kube/kubelet-store.ts';
import { ShellCompiler } from '../../../src/sim/kube/virtual/shell.ts';

function c(
  name: string,
  kind: ContainerView['kind'],
  state: RunState,
  extra: Partial<ContainerView> = {},
): ContainerView {
  return {
    name,
    kind,
    state,
    startupPassed: true,
    readinessPassed: true,
    restartCount: 0,
    image: 'x',
    imageID: '',
    volumeMounts: [],
    ...extra,
  };
}

const waiting = (reason = 'PodInitializing'): RunState => ({ kind: 'waiting', reason });
const running: RunState = { kind: 'running', startedAt: 't' };
const exited = (exitCode: number): RunState => ({
  kind: 'terminated',
  exitCode,
  reason: exitCode === 0 ? 'Completed' : 'Error',
  startedAt: 't',
  finishedAt: 't',
});

describe('getPhase with restartPolicy Never (§1.2)', () => {
  const pod = (
    helper: RunState,
    docker: RunState,
    build: RunState,
    uploader: RunState,
    dockerStarted = true,
  ) => [
    c('helper', 'init', helper),
    c('docker', 'sidecar', docker, { startupPassed: dockerStarted }),
    c('build', 'regular', build),
    c('uploader', 'regular', uploader),
  ];
  const phase = (containers: ContainerView[], terminal = false) => getPhase(containers, 'Never', terminal);

  it('is Pending while an init container runs, waits or pulls', () => {
    expect(phase(pod(waiting(), waiting(), waiting(), waiting()))).toBe('Pending');
    expect(phase(pod(running, waiting(), waiting(), waiting()))).toBe('Pending');
    expect(phase(pod(waiting('ErrImagePull'), waiting(), waiting(), waiting()))).toBe('Pending');
  });
  it('is Failed at once when an init container exits non-zero', () => {
    expect(phase(pod(exited(1), waiting(), waiting(), waiting()))).toBe('Failed');
  });
  it('is Pending until the sidecar has started, and while a main container waits', () => {
    expect(phase(pod(exited(0), running, waiting(), waiting(), false))).toBe('Pending');
    expect(phase(pod(exited(0), running, running, waiting('ImagePullBackOff')))).toBe('Pending');
  });
  it('is Running while any main container runs, then Succeeded or Failed on the main exit codes only', () => {
    expect(phase(pod(exited(0), running, running, running))).toBe('Running');
    expect(phase(pod(exited(0), running, exited(0), running))).toBe('Running');
    expect(phase(pod(exited(0), running, exited(0), exited(0)))).toBe('Running');
    expect(phase(pod(exited(0), exited(143), exited(0), exited(0)))).toBe('Succeeded');
    expect(phase(pod(exited(0), exited(0), exited(1), exited(0)))).toBe('Failed');
  });
  it('decides on the stopped containers when the kubelet terminates the pod, whatever the policy', () => {
    const stopped = [c('main', 'regular', exited(143))];
    expect(getPhase(stopped, 'Always', false)).toBe('Running');
    expect(getPhase(stopped, 'Always', true)).toBe('Failed');
    expect(getPhase([c('main', 'regular', exited(0))], 'Always', true)).toBe('Succeeded');
    expect(getPhase([c('main', 'regular', exited(1))], 'OnFailure', false)).toBe('Running');
  });
});

describe('images', () => {
  it('normalises references like containerd', () => {
    expect(parseImage('alpine:3.19')?.normalized).toBe('docker.io/library/alpine:3.19');
    expect(parseImage('alpine')?.normalized).toBe('docker.io/library/alpine:latest');
    expect(parseImage('bitnami/redis:7')?.normalized).toBe('docker.io/bitnami/redis:7');
    expect(parseImage('ghcr.io/podrunner/helper:0.1.0')?.normalized).toBe('ghcr.io/podrunner/helper:0.1.0');
    expect(parseImage('localhost:5000/app')?.normalized).toBe('localhost:5000/app:latest');
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseImage(`alpine@${digest}`)?.normalized).toBe(`docker.io/library/alpine@${digest}`);
    expect(parseImage('Alpine:3')).toBeUndefined();
    expect(parseImage('bad image')).toBeUndefined();
  });
  it('defaults the pull policy from the tag', () => {
    expect(defaultPullPolicy('alpine')).toBe('Always');
    expect(defaultPullPolicy('alpine:latest')).toBe('Always');
    expect(defaultPullPolicy('alpine:3.19')).toBe('IfNotPresent');
    expect(defaultPullPolicy('localhost:5000/app')).toBe('Always');
    expect(defaultPullPolicy(`alpine@sha256:${'b'.repeat(64)}`)).toBe('IfNotPresent');
  });
});

describe('quantities and requests', () => {
  it('parses CPU and memory quantities', () => {
    expect(cpuMillis('500m')).toBe(500);
    expect(cpuMillis('2')).toBe(2000);
    expect(cpuMillis('0.1')).toBe(100);
    expect(memoryBytes('1Gi')).toBe(2 ** 30);
    expect(memoryBytes('129e6')).toBe(129_000_000);
    expect(memoryBytes('128M')).toBe(128_000_000);
    expect(memoryBytes('lots')).toBeUndefined();
  });
  it('adds sidecars to main containers and takes the larger init need', () => {
    const pod: PodObject = {
      spec: {
        initContainers: [
          { name: 'svc', image: 'x', restartPolicy: 'Always', resources: { requests: { cpu: '500m' } } },
          { name: 'init', image: 'x', resources: { requests: { cpu: '3', memory: '1Gi' } } },
        ],
        containers: [{ name: 'main', image: 'x', resources: { limits: { cpu: '1', memory: '512Mi' } } }],
      },
    };
    expect(podRequests(pod)).toEqual({ cpuMillis: 3500, memoryBytes: 2 ** 30 });
    expect(qosClass(pod)).toBe('Burstable');
    expect(qosClass({ spec: { containers: [{ name: 'a', image: 'x' }] } })).toBe('BestEffort');
  });
});

describe('durations and messages', () => {
  it('parses Go durations and milliseconds', () => {
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('soon')).toBeUndefined();
  });
  it('prints durations like Go', () => {
    expect(formatGoDuration(812)).toBe('812ms');
    expect(formatGoDuration(1234)).toBe('1.234s');
    expect(formatGoDuration(62_345)).toBe('1m2.345s');
    expect(formatBackOff(10_000)).toBe('10s');
    expect(formatBackOff(300_000)).toBe('5m0s');
  });
  it('cuts long FailedScheduling messages to 1024 bytes ending in " ..."', () => {
    const cut = cutEventMessage('x'.repeat(2000));
    expect(cut).toHaveLength(1024);
    expect(cut.endsWith(' ...')).toBe(true);
    expect(cutEventMessage('short')).toBe('short');
  });
  it('expands $(VAR) the way Kubernetes does', () => {
    const vars: Record<string, string> = { A: 'x' };
    const lookup = (n: string) => vars[n];
    expect(expand('$(A)-$(B)-$$(A)-$$-$-$(', lookup)).toBe('x-$(B)-$(A)-$-$-$(');
  });
});

describe('the virtual shell', () => {
  const compile = (script: string) =>
    new ShellCompiler({
      env: new Map([['X', '1']]),
      terminationMessagePath: '/dev/termination-log',
      unknownCommandMs: 0,
    }).compileScript(script).actions;

  it('keeps quoting, comments and redirections straight', () => {
    expect(compile(`echo 'a  b' "c $X" d\\ e # don't`)).toEqual([
      { kind: 'write', stream: 'stdout', data: 'a  b c 1 d e\n' },
      { kind: 'exit', code: 0 },
    ]);
    expect(compile('echo hidden > /tmp/file; echo -n x >&2; echo done >/dev/termination-log')).toEqual([
      { kind: 'write', stream: 'stderr', data: 'x' },
      { kind: 'message', text: 'done\n', append: false },
      { kind: 'exit', code: 0 },
    ]);
  });
  it('turns sleep infinity and tail -f into a container that runs until stopped', () => {
    expect(compile('echo up; sleep infinity')).toEqual([
      { kind: 'write', stream: 'stdout', data: 'up\n' },
      { kind: 'forever' },
    ]);
    expect(compile('exec tail -f /dev/null')).toEqual([{ kind: 'forever' }]);
  });
  it('tracks export and assignments for later lines', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a template
    expect(compile('export Y=2\nZ=3\necho $Y$Z ${MISSING:-d}')[0]).toEqual({
      kind: 'write',
      stream: 'stdout',
      data: '23 d\n',
    });
  });
});
