// The real kubectl (/usr/bin/kubectl, v1.32) against the embedded API server: a pod with an init
// container and two containers goes through its life while kubectl watches, reads logs, describes,
// deletes; exit codes and outputs are asserted.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  condition,
  eventually,
  running,
  ScriptedKubelet,
  startCluster,
  type TestCluster,
  terminated,
  waiting,
} from './harness.ts';

const podYaml = `apiVersion: v1
kind: Pod
metadata:
  name: job-1
  labels:
    app: job
spec:
  restartPolicy: Never
  initContainers:
  - name: init-clone
    image: alpine:3.19
    command: ["sh", "-c", "echo cloning"]
  containers:
  - name: build
    image: alpine:3.19
    command: ["sh", "-c", "echo building"]
  - name: uploader
    image: alpine:3.19
    command: ["sh", "-c", "echo uploading"]
`;

let cluster: TestCluster;
let kubelet: ScriptedKubelet;

beforeAll(async () => {
  cluster = await startCluster();
  kubelet = new ScriptedKubelet(cluster.sim.store);
  await writeFile(join(cluster.dir, 'pod.yaml'), podYaml);
});

afterAll(async () => {
  kubelet.stop();
  await cluster.close();
});

/** The row of `kubectl get pods` for one pod, as columns. */
async function podRow(name: string): Promise<string[]> {
  const { code, stdout, stderr } = await cluster.kubectl(['get', 'pods', name, '--no-headers']);
  expect(code, stderr).toBe(0);
  return stdout.trim().split(/\s{2,}/);
}

describe('kubectl against the embedded API server', () => {
  it('creates a pod from a file and follows it through its life', async () => {
    const watch = cluster.kubectlStream(['get', 'pods', '-w']);

    const created = await cluster.kubectl(['create', '-f', 'pod.yaml']);
    expect(created).toMatchObject({ code: 0, stdout: 'pod/job-1 created\n' });

    const header = await cluster.kubectl(['get', 'pods']);
    expect(header.stdout.split('\n')[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    expect(await podRow('job-1')).toEqual(['job-1', '0/2', 'Pending', '0', expect.stringMatching(/^\d+s$/)]);
    await watch.waitFor(/job-1\s+0\/2\s+Pending/);

    kubelet.bind('default', 'job-1');
    const initWaiting = kubelet.status('default', 'job-1', {
      phase: 'Pending',
      conditions: [
        condition('PodReadyToStartContainers', 'False'),
        condition(
          'Initialized',
          'False',
          'ContainersNotInitialized',
          'containers with incomplete status: [init-clone]',
        ),
        condition('Ready', 'False', 'ContainersNotReady', 'containers with unready status: [build uploader]'),
        condition(
          'ContainersReady',
          'False',
          'ContainersNotReady',
          'containers with unready status: [build uploader]',
        ),
      ],
      initContainerStatuses: [waiting('init-clone', 'PodInitializing')],
      containerStatuses: [waiting('build', 'PodInitializing'), waiting('uploader', 'PodInitializing')],
    });
    expect(initWaiting.spec?.nodeName).toBe('podrunner-sim');
    expect(initWaiting.status?.conditions?.map((c) => c.type)).toContain('PodScheduled');
    expect((await podRow('job-1')).slice(1, 3)).toEqual(['0/2', 'Init:0/1']);
    await watch.waitFor(/job-1\s+0\/2\s+Init:0\/1/);

    // logs of a container that has not started: the kubelet's 400, kubectl exits 1
    const early = await cluster.kubectl(['logs', 'job-1']);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('Defaulted container "build" out of: build, uploader, init-clone (init)');
    expect(early.stderr).toContain(
      'Error from server (BadRequest): container "build" in pod "job-1" is waiting to start: PodInitializing',
    );

    const initLog = kubelet.log('default', 'job-1', 'init-clone');
    kubelet.status('default', 'job-1', {
      phase: 'Pending',
      initContainerStatuses: [running('init-clone', false)],
      containerStatuses: [waiting('build', 'PodInitializing'), waiting('uploader', 'PodInitializing')],
      conditions: [
        condition(
          'Initialized',
          'False',
          'ContainersNotInitialized',
          'containers with incomplete status: [init-clone]',
        ),
      ],
    });
    initLog.write('stdout', Buffer.from('cloning\n'), new Date());
    initLog.close();
    kubelet.status('default', 'job-1', {
      phase: 'Pending',
      initContainerStatuses: [terminated('init-clone', 0, 'Completed')],
      containerStatuses: [waiting('build', 'PodInitializing'), waiting('uploader', 'PodInitializing')],
      conditions: [condition('Initialized', 'True')],
    });
    expect((await podRow('job-1')).slice(1, 3)).toEqual(['0/2', 'PodInitializing']);
    await watch.waitFor(/job-1\s+0\/2\s+PodInitializing/);
    expect((await cluster.kubectl(['logs', 'job-1', '-c', 'init-clone'])).stdout).toBe('cloning\n');

    const buildLog = kubelet.log('default', 'job-1', 'build');
    kubelet.status('default', 'job-1', {
      phase: 'Running',
      initContainerStatuses: [terminated('init-clone', 0, 'Completed')],
      containerStatuses: [running('build', true), running('uploader', true)],
      conditions: [
        condition('Initialized', 'True'),
        condition('Ready', 'True'),
        condition('ContainersReady', 'True'),
      ],
    });
    expect((await podRow('job-1')).slice(1, 3)).toEqual(['2/2', 'Running']);
    await watch.waitFor(/job-1\s+2\/2\s+Running/);

    // logs -f follows until the container ends
    buildLog.write('stdout', Buffer.from('step 1\n'), new Date());
    const follow = cluster.kubectlStream(['logs', '-f', 'job-1', '-c', 'build']);
    await follow.waitFor('step 1\n');
    buildLog.write('stderr', Buffer.from('warning: step 2\n'), new Date());
    await follow.waitFor('warning: step 2\n');
    buildLog.write('stdout', Buffer.from('done\n'), new Date());
    buildLog.close();
    kubelet.status('default', 'job-1', {
      phase: 'Running',
      initContainerStatuses: [terminated('init-clone', 0, 'Completed')],
      containerStatuses: [terminated('build', 0, 'Completed'), running('uploader', true)],
      conditions: [
        condition('Initialized', 'True'),
        condition('Ready', 'False', 'ContainersNotReady', 'containers with unready status: [build]'),
        condition(
          'ContainersReady',
          'False',
          'ContainersNotReady',
          'containers with unready status: [build]',
        ),
      ],
    });
    const followed = await follow.exit;
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe('step 1\nwarning: step 2\ndone\n');
    expect((await podRow('job-1')).slice(1, 3)).toEqual(['1/2', 'NotReady']);
    await watch.waitFor(/job-1\s+1\/2\s+NotReady/);

    const timestamps = await cluster.kubectl(['logs', 'job-1', '-c', 'build', '--timestamps']);
    expect(timestamps.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z step 1\n/);
    const tail = await cluster.kubectl(['logs', 'job-1', '-c', 'build', '--tail=1']);
    expect(tail.stdout).toBe('done\n');

    kubelet.status('default', 'job-1', {
      phase: 'Succeeded',
      initContainerStatuses: [terminated('init-clone', 0, 'Completed')],
      containerStatuses: [terminated('build', 0, 'Completed'), terminated('uploader', 0, 'Completed')],
      conditions: [
        condition('Initialized', 'True', 'PodCompleted'),
        condition('Ready', 'False', 'PodCompleted'),
        condition('ContainersReady', 'False', 'PodCompleted'),
      ],
    });
    expect((await podRow('job-1')).slice(1, 3)).toEqual(['0/2', 'Completed']);
    await watch.waitFor(/job-1\s+0\/2\s+Completed/);

    const wide = await cluster.kubectl(['get', 'pods', 'job-1', '-o', 'wide', '--no-headers']);
    expect(wide.stdout).toContain('podrunner-sim');
  });

  it('describes the pod with its events and lists events', async () => {
    kubelet.event(
      'default',
      'job-1',
      'Pulled',
      'Container image "alpine:3.19" already present on machine',
      'spec.containers{build}',
    );
    kubelet.event('default', 'job-1', 'Started', 'Started container build', 'spec.containers{build}');
    const described = await cluster.kubectl(['describe', 'pod', 'job-1']);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toMatch(/Status:\s+Succeeded/);
    expect(described.stdout).toMatch(/Node:\s+podrunner-sim\/127\.0\.0\.1/);
    expect(described.stdout).toMatch(
      /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/job-1 to podrunner-sim/,
    );
    expect(described.stdout).toMatch(/Normal\s+Started\s+\S+\s+kubelet\s+Started container build/);

    const events = await cluster.kubectl(['get', 'events']);
    expect(events.code).toBe(0);
    expect(events.stdout.split('\n')[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(events.stdout).toMatch(
      /Normal\s+Pulled\s+pod\/job-1\s+Container image "alpine:3.19" already present on machine/,
    );
  });

  it('shows Secrets with their type and key count, and collects the ones a pod owns', async () => {
    const created = await cluster.kubectl([
      'create',
      'secret',
      'generic',
      'plain',
      '--from-literal=a=1',
      '--from-literal=b=2',
    ]);
    expect(created).toMatchObject({ code: 0, stdout: 'secret/plain created\n' });
    const pod = kubelet.pod('default', 'job-1');
    const owned = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'job-1-env',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'job-1', uid: pod.metadata!.uid }],
      },
      type: 'Opaque',
      stringData: { TOKEN: 'secret-value' },
    });
    expect((await cluster.kubectl(['create', '-f', '-'], owned)).code).toBe(0);
    const secrets = await cluster.kubectl(['get', 'secret']);
    expect(secrets.code).toBe(0);
    expect(secrets.stdout.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE$/);
    expect(secrets.stdout).toMatch(/job-1-env\s+Opaque\s+1\s+\d+s/);
    expect(secrets.stdout).toMatch(/plain\s+Opaque\s+2\s+\d+s/);
    const yaml = await cluster.kubectl(['get', 'secret', 'job-1-env', '-o', 'jsonpath={.data.TOKEN}']);
    expect(Buffer.from(yaml.stdout, 'base64').toString()).toBe('secret-value');

    const missing = await cluster.kubectl(['get', 'secret', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('Error from server (NotFound): secrets "nope" not found\n');

    // a terminal pod is deleted at once; its Secret follows (background GC)
    const deleted = await cluster.kubectl(['delete', 'pod', 'job-1']);
    expect(deleted).toMatchObject({ code: 0, stdout: 'pod "job-1" deleted\n' });
    await cluster.sim.api.gc.whenIdle();
    const after = await cluster.kubectl(['get', 'secret', 'job-1-env']);
    expect(after.stderr).toBe('Error from server (NotFound): secrets "job-1-env" not found\n');
    expect((await cluster.kubectl(['get', 'secret', 'plain'])).code).toBe(0);
    const gone = await cluster.kubectl(['logs', 'job-1', '-c', 'build']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('pods "job-1" not found');
  });

  it('deletes a running pod gracefully: Terminating until the kubelet is done', async () => {
    await writeFile(join(cluster.dir, 'run.yaml'), podYaml.replace('job-1', 'job-2'));
    expect((await cluster.kubectl(['create', '-f', 'run.yaml'])).code).toBe(0);
    kubelet.bind('default', 'job-2');
    kubelet.status('default', 'job-2', {
      phase: 'Running',
      initContainerStatuses: [terminated('init-clone', 0, 'Completed')],
      containerStatuses: [running('build', true), running('uploader', true)],
      conditions: [
        condition('Initialized', 'True'),
        condition('Ready', 'True'),
        condition('ContainersReady', 'True'),
      ],
    });
    const deleting = cluster.kubectlStream(['delete', 'pod', 'job-2']);
    const pod = await eventually(() => {
      const p = kubelet.pod('default', 'job-2');
      if (!p.metadata?.deletionTimestamp) throw new Error('not terminating yet');
      return p;
    });
    expect(pod.metadata?.deletionGracePeriodSeconds).toBe(30);
    expect((await podRow('job-2')).slice(1, 3)).toEqual(['2/2', 'Terminating']);
    kubelet.status('default', 'job-2', {
      phase: 'Failed',
      initContainerStatuses: [terminated('init-clone', 0, 'Completed')],
      containerStatuses: [terminated('build', 143, 'Error'), terminated('uploader', 143, 'Error')],
      conditions: [condition('Initialized', 'True'), condition('Ready', 'False', 'PodFailed')],
    });
    expect((await podRow('job-2')).slice(1, 3)).toEqual(['0/2', 'Error']);
    kubelet.remove('default', 'job-2');
    const done = await deleting.exit;
    expect(done.code).toBe(0);
    expect(done.stdout).toBe('pod "job-2" deleted\n');
    const missing = await cluster.kubectl(['get', 'pod', 'job-2']);
    expect(missing.stderr).toBe('Error from server (NotFound): pods "job-2" not found\n');
  });

  it('prints the STATUS strings kubectl shows for failures', async () => {
    const cases: { name: string; status: Parameters<ScriptedKubelet['status']>[2]; expected: string }[] = [
      {
        name: 'pull-error',
        status: {
          phase: 'Pending',
          initContainerStatuses: [terminated('init-clone', 0, 'Completed')],
          containerStatuses: [waiting('build', 'ErrImagePull'), running('uploader', true)],
          conditions: [condition('Initialized', 'True')],
        },
        expected: 'ErrImagePull',
      },
      {
        name: 'backoff',
        status: {
          phase: 'Pending',
          initContainerStatuses: [terminated('init-clone', 0, 'Completed')],
          containerStatuses: [waiting('build', 'ImagePullBackOff'), running('uploader', true)],
          conditions: [condition('Initialized', 'True')],
        },
        expected: 'ImagePullBackOff',
      },
      {
        name: 'oom',
        status: {
          phase: 'Failed',
          initContainerStatuses: [terminated('init-clone', 0, 'Completed')],
          containerStatuses: [terminated('build', 137, 'OOMKilled'), terminated('uploader', 0, 'Completed')],
          conditions: [condition('Initialized', 'True')],
        },
        expected: 'OOMKilled',
      },
      {
        name: 'failed',
        status: {
          phase: 'Failed',
          initContainerStatuses: [terminated('init-clone', 0, 'Completed')],
          containerStatuses: [terminated('build', 1, 'Error'), terminated('uploader', 0, 'Completed')],
          conditions: [condition('Initialized', 'True')],
        },
        expected: 'Error',
      },
      {
        name: 'init-failed',
        status: {
          phase: 'Failed',
          initContainerStatuses: [terminated('init-clone', 1, 'Error')],
          containerStatuses: [waiting('build', 'PodInitializing'), waiting('uploader', 'PodInitializing')],
          conditions: [condition('Initialized', 'False')],
        },
        expected: 'Init:Error',
      },
    ];
    for (const c of cases) {
      await writeFile(join(cluster.dir, `${c.name}.yaml`), podYaml.replace('job-1', c.name));
      expect((await cluster.kubectl(['create', '-f', `${c.name}.yaml`])).code).toBe(0);
      kubelet.bind('default', c.name);
      kubelet.status('default', c.name, c.status);
    }
    const all = await cluster.kubectl(['get', 'pods', '--no-headers']);
    for (const c of cases)
      expect(all.stdout).toMatch(new RegExp(`^${c.name}\\s+\\d/2\\s+${c.expected}\\s`, 'm'));
    const waitingLogs = await cluster.kubectl(['logs', 'pull-error', '-c', 'build']);
    expect(waitingLogs.stderr).toContain(
      'Error from server (BadRequest): container "build" in pod "pull-error" is waiting to start: image can\'t be pulled',
    );
    const backoffLogs = await cluster.kubectl(['logs', 'backoff', '-c', 'build']);
    expect(backoffLogs.stderr).toContain('is waiting to start: trying and failing to pull image');
  });

  it('answers kubectl errors like a real cluster', async () => {
    const bad = await cluster.kubectl(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'Bad_Name' },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      }),
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      'The Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain',
    );
    const dup = await cluster.kubectl(['create', '-f', 'run.yaml']);
    expect((await cluster.kubectl(['create', '-f', 'run.yaml'])).stderr).toContain(
      'Error from server (AlreadyExists): error when creating "run.yaml": pods "job-2" already exists',
    );
    expect(dup.code).toBe(0);
    const unknownField = await cluster.kubectl(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'strict' },
        spec: { containers: [{ name: 'c', image: 'x', bogus: 1 }] },
      }),
    );
    expect(unknownField.code).toBe(1);
    expect(unknownField.stderr).toContain('strict decoding error: unknown field "spec.containers[0].bogus"');
    const noType = await cluster.kubectl(['get', 'widgets']);
    expect(noType.code).toBe(1);
    expect(noType.stderr).toContain(`the server doesn't have a resource type "widgets"`);
  });

  it('creates and lists namespaces and works inside them', async () => {
    expect((await cluster.kubectl(['create', 'namespace', 'ci'])).stdout).toBe('namespace/ci created\n');
    const ns = await cluster.kubectl(['get', 'ns', 'ci', '--no-headers']);
    expect(ns.stdout).toMatch(/^ci\s+Active\s+\d+s/);
    expect(
      (await cluster.kubectl(['-n', 'ci', 'create', 'configmap', 'cfg', '--from-literal=k=v'])).code,
    ).toBe(0);
    expect((await cluster.kubectl(['-n', 'ci', 'get', 'configmap', 'cfg', '--no-headers'])).stdout).toMatch(
      /^cfg\s+1\s+/,
    );
    const missing = await cluster.kubectl(['-n', 'nope', 'create', 'configmap', 'cfg']);
    expect(missing.stderr).toContain('namespaces "nope" not found');
  });

  it('reports every request it serves to onRequest listeners (request accounting)', async () => {
    const seen: string[] = [];
    const stop = cluster.sim.api.onRequest((r) =>
      seen.push(
        r.verb
          ? `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.name ?? ''}`.trim()
          : `${r.method} ${r.path}`,
      ),
    );
    try {
      expect((await cluster.kubectl(['-n', 'ci', 'get', 'configmap', 'cfg', '-o', 'name'])).code).toBe(0);
    } finally {
      stop();
    }
    expect(seen).toContain('get configmaps cfg');
    const after = seen.length;
    await cluster.kubectl(['get', 'ns']);
    expect(seen.length).toBe(after);
  });
});
