// Services through the executor on the embedded cluster (process mode: the nginx and docker-dind
// kits of the image table listen for real): the build reaches a service on localhost and by its
// alias, and a docker:dind service is up before the build's first command.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PodObject } from '../../../src/sim/kube/kubelet-store.ts';
import { type ExecutorStack, startExecutorStack } from '../../support/executor-stack.ts';

let stack: ExecutorStack;
beforeAll(async () => {
  stack = await startExecutorStack();
});
afterAll(async () => {
  await stack?.stop();
});

const plain = (trace: string) => trace.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

function statusOf(pod: PodObject | undefined, name: string) {
  return [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])].find(
    (s) => s.name === name,
  );
}

describe('services through the Kubernetes executor', () => {
  it('reaches a service that listens on a TCP port via localhost and via its alias', async () => {
    const result = await stack.pipeline(`
with-web:
  image: alpine:latest
  services:
    - name: nginx:1.27
      alias: web
      # nginx is no image whose port podrunner knows: as with gitlab-runner, this makes the job
      # wait for the port before the build starts.
      variables:
        HEALTHCHECK_TCP_PORT: "80"
  script:
    - |
      wget -q -O - http://localhost:80/ | grep -o "Welcome to nginx" | sed 's/^/via localhost: /'
    - |
      wget -q -O - http://web:80/ | grep -o "Welcome to nginx" | sed 's/^/via alias: /'
`);
    const job = result.job('with-web');
    expect(job.status, job.trace).toBe('success');
    const text = plain(job.trace);
    expect(text).toContain('via localhost: Welcome to nginx');
    expect(text).toContain('via alias: Welcome to nginx');
    // The service ran in the job's pod as its own container, named after the alias.
    const pod = stack.podOf(job.id).last;
    const names = [
      ...(pod?.spec?.initContainers ?? []).map((c) => c.name),
      ...(pod?.spec?.containers ?? []).map((c) => c.name),
    ];
    expect(names).toContain('web');
    expect(pod?.spec?.hostAliases?.flatMap((a) => a.hostnames ?? [])).toContain('web');
    const spec = pod?.spec?.initContainers?.find((c) => c.name === 'web');
    expect(spec?.startupProbe?.tcpSocket?.port).toBe(80);
  });

  it('starts a docker:dind service before the build, reachable at DOCKER_HOST=tcp://docker:2375', async () => {
    const result = await stack.pipeline(`
with-dind:
  image: docker:27
  services:
    - name: docker:27-dind
      alias: docker
  variables:
    DOCKER_HOST: tcp://docker:2375
    DOCKER_TLS_CERTDIR: ""
  script:
    # The first command of the job, without a retry loop: the daemon must already answer.
    - |
      wget -q -O - "http://\${DOCKER_HOST#tcp://}/_ping" | sed 's/^/ping: /'; echo
    - |
      wget -q -O - "http://\${DOCKER_HOST#tcp://}/version" | grep -o '"ApiVersion":"[^"]*"'
`);
    const job = result.job('with-dind');
    expect(job.status, job.trace).toBe('success');
    const text = plain(job.trace);
    expect(text).toContain('ping: OK');
    expect(text).toMatch(/"ApiVersion":"\d+\.\d+"/);
    const pod = stack.podOf(job.id).last;
    const dind = statusOf(pod, 'docker');
    const build = statusOf(pod, 'build');
    const dindStarted = dind?.state?.running?.startedAt ?? dind?.state?.terminated?.startedAt;
    const buildStarted = build?.state?.terminated?.startedAt;
    expect(dindStarted, JSON.stringify(pod?.status)).toBeDefined();
    expect(buildStarted).toBeDefined();
    expect(Date.parse(dindStarted ?? '')).toBeLessThanOrEqual(Date.parse(buildStarted ?? ''));
    // The service is a native sidecar with a startup probe on its port: the kubelet starts the
    // main containers only once it answers.
    const spec = pod?.spec?.initContainers?.find((c) => c.name === 'docker');
    expect(spec?.restartPolicy).toBe('Always');
    expect(spec?.startupProbe?.tcpSocket?.port).toBe(2375);
  });
});
