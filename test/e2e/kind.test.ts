// podrunner on a real cluster, where Docker and kind are available: build both images, load them
// into a new kind cluster, install the chart the way README.md says, and run the demo pipeline
// (a plain job and a docker:dind job building an image over localhost:2375) against the embedded
// GitLab, which listens on the kind network's gateway so that the cluster can reach it.
// Elsewhere the suite is skipped and says why.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInstanceRunner } from '../../src/bootstrap/gitlab-admin.ts';
import { buildNetworkFlag, dockerAvailable, kindAvailable, sh } from '../support/docker.ts';
import { helmBinary } from '../support/helm.ts';

const missing = (await dockerAvailable()) ?? (await kindAvailable());
if (missing) console.warn(`skipping the kind e2e suite: ${missing}`);

const repo = resolve('.');
const suffix = randomBytes(3).toString('hex');
const cluster = `podrunner-e2e-${suffix}`;
const tag = `e2e-${suffix}`;
const managerImage = `ghcr.io/podrunner/podrunner:${tag}`;
const helperImage = `ghcr.io/podrunner/helper:${tag}`;

// The pipeline of the getting-started guide: a job in alpine, and an image built by docker:dind.
const pipeline = `stages: [test, build]
hello-kubernetes:
  stage: test
  image: alpine:3.22
  script:
    - echo "Hello from podrunner"
    - echo "running in pod $(hostname)"
build-image:
  stage: build
  image: docker:28
  services:
    - docker:28-dind
  variables:
    DOCKER_HOST: tcp://localhost:2375
    DOCKER_TLS_CERTDIR: ""
  script:
    - until docker info >/dev/null 2>&1; do sleep 1; done
    - docker build -t podrunner-e2e/app:latest .
    - docker run --rm podrunner-e2e/app:latest
`;
const dockerfile = 'FROM alpine:3.22\nCMD ["echo", "built by docker:dind over localhost:2375"]\n';

interface Api {
  url: string;
  token: string;
}

async function api<T>(gitlab: Api, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await request(`${gitlab.url}/api/v4${path}`, {
    method,
    headers: { 'private-token': gitlab.token, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.body.text();
  if (response.statusCode >= 300)
    throw new Error(`${method} ${path} answered ${response.statusCode}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

describe.skipIf(missing !== undefined)('podrunner on kind with the Helm chart', () => {
  let work = '';
  let kubeconfig = '';
  let sim: ChildProcess | undefined;
  let gitlab: Api;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'podrunner-kind-'));
    kubeconfig = join(work, 'kubeconfig');
    const helm = await helmBinary();
    env = { ...process.env, KUBECONFIG: kubeconfig, PATH: `${dirname(helm)}:${process.env.PATH ?? ''}` };

    if (!existsSync('images/helper/Dockerfile')) throw new Error('images/helper/Dockerfile is missing');
    await sh(`docker build${buildNetworkFlag()} -f images/manager/Dockerfile -t ${managerImage} .`, {
      timeoutMs: 900_000,
    });
    await sh(`docker build${buildNetworkFlag()} -f images/helper/Dockerfile -t ${helperImage} .`, {
      timeoutMs: 900_000,
    });
    await sh(`kind create cluster --name ${cluster} --kubeconfig ${kubeconfig} --wait 180s`, {
      timeoutMs: 600_000,
    });
    await sh(`kind load docker-image ${managerImage} ${helperImage} --name ${cluster}`, {
      timeoutMs: 600_000,
    });

    // The embedded GitLab on the kind network's gateway: reachable from the cluster's pods.
    const gateway = (
      await sh(
        `docker network inspect kind -f '{{range .IPAM.Config}}{{if .Gateway}}{{.Gateway}} {{end}}{{end}}'`,
      )
    )
      .split(' ')
      .find((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip.trim()))
      ?.trim();
    if (!gateway) throw new Error('the kind network has no IPv4 gateway');
    const tokenFile = join(work, 'admin-token');
    sim = spawn(
      'node_modules/.bin/node',
      ['bin/podrunner.js', 'sim', 'gitlab', '--listen', `${gateway}:0`, '--admin-token-file', tokenFile],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const url = await new Promise<string>((resolvePromise, reject) => {
      let seen = '';
      const onData = (chunk: Buffer) => {
        seen += chunk.toString();
        const match = new RegExp(`http://${gateway.replaceAll('.', '\\.')}:\\d+`).exec(seen);
        if (match) resolvePromise(match[0]);
      };
      sim?.stdout?.on('data', onData);
      sim?.stderr?.on('data', onData);
      sim?.on('exit', (code) => reject(new Error(`podrunner sim gitlab exited (${code}): ${seen}`)));
    });
    await sh(`until [ -s ${tokenFile} ]; do sleep 0.2; done`, { timeoutMs: 30_000 });
    gitlab = { url, token: (await readFile(tokenFile, 'utf8')).trim() };
    const runner = await createInstanceRunner(
      url,
      { kind: 'private-token', token: gitlab.token },
      {
        description: 'podrunner-kind',
        tags: [],
        runUntagged: true,
      },
    );

    // The README's install command, run as written, with a values file as a gitlab-runner user writes it.
    await symlink(join(repo, 'charts'), join(work, 'charts'));
    await writeFile(
      join(work, 'gitlab-runner-values.yaml'),
      [
        `gitlabUrl: ${url}`,
        `runnerToken: ${runner.token}`,
        'image:',
        '  registry: ghcr.io',
        '  image: podrunner/podrunner',
        `  tag: ${tag}`,
        'imagePullPolicy: Never',
        'rbac:',
        '  create: true',
        'runners:',
        '  config: |',
        '    [[runners]]',
        '      [runners.kubernetes]',
        '        namespace = "{{ .Release.Namespace }}"',
        '        image = "alpine:3.22"',
        `        helper_image = "${helperImage}"`,
        '        privileged = true',
        '',
      ].join('\n'),
    );
    await sh(
      'helm upgrade --install gitlab-runner charts/podrunner --namespace gitlab --create-namespace -f gitlab-runner-values.yaml',
      {
        cwd: work,
        env,
      },
    );
    await sh('kubectl -n gitlab rollout status deployment/gitlab-runner-podrunner', {
      env,
      timeoutMs: 300_000,
    });
    await sh('kubectl -n gitlab logs deployment/gitlab-runner-podrunner', { env });
  }, 2_400_000);

  afterAll(async () => {
    sim?.kill('SIGTERM');
    await sh(`kind delete cluster --name ${cluster}`).catch(() => '');
    await sh(`docker rmi -f ${managerImage} ${helperImage}`).catch(() => '');
    if (work) await rm(work, { recursive: true, force: true });
  }, 300_000);

  it('runs the demo pipeline, including a docker:dind build over localhost:2375', async () => {
    const project = await api<{ id: number }>(gitlab, 'POST', '/projects', { name: `demo-${suffix}` });
    await api(gitlab, 'POST', `/projects/${project.id}/repository/commits`, {
      branch: 'main',
      commit_message: 'demo pipeline',
      actions: [
        { action: 'create', file_path: '.gitlab-ci.yml', content: pipeline },
        { action: 'create', file_path: 'Dockerfile', content: dockerfile },
      ],
    });
    const created = await api<{ id: number }>(gitlab, 'POST', `/projects/${project.id}/pipeline?ref=main`);
    type Job = { id: number; name: string; status: string };
    let jobs: Job[] = [];
    const deadline = Date.now() + 900_000;
    while (Date.now() < deadline) {
      jobs = await api<Job[]>(gitlab, 'GET', `/projects/${project.id}/pipelines/${created.id}/jobs`);
      if (jobs.length === 2 && jobs.every((j) => ['success', 'failed', 'canceled'].includes(j.status))) break;
      await new Promise((r) => setTimeout(r, 3000));
    }
    const traces = await Promise.all(
      jobs.map(async (j) => {
        const response = await request(`${gitlab.url}/api/v4/projects/${project.id}/jobs/${j.id}/trace`, {
          headers: { 'private-token': gitlab.token },
        });
        return `--- ${j.name} (${j.status})\n${await response.body.text()}`;
      }),
    );
    expect(
      jobs.map((j) => [j.name, j.status]),
      traces.join('\n'),
    ).toEqual([
      ['hello-kubernetes', 'success'],
      ['build-image', 'success'],
    ]);
    expect(traces.join('\n')).toContain('built by docker:dind over localhost:2375');
    // No job pod is left behind.
    await sh(
      'until [ -z "$(kubectl -n gitlab get pods -l project.runner.gitlab.com/id -o name)" ]; do sleep 2; done',
      {
        env,
        timeoutMs: 120_000,
      },
    );
  }, 1_200_000);
});
