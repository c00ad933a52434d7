// The seed guide's first pipeline, end to end: embedded GitLab → manager with the Kubernetes
// executor → embedded Kubernetes (process mode) → trace and final state back in GitLab.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExecutorStack, startExecutorStack } from '../../support/executor-stack.ts';

let stack: ExecutorStack;
beforeAll(async () => {
  stack = await startExecutorStack();
});
afterAll(async () => {
  await stack?.stop();
});

const plain = (trace: string) => trace.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

describe('the Kubernetes executor on the embedded cluster', () => {
  it('runs the seed’s hello job and a second stage after it, with gitlab-runner’s sections', async () => {
    const result = await stack.pipeline(`
stages: [test, build]
hello-kubernetes:
  stage: test
  image: alpine:latest
  script:
    - echo "Hello from GitLab Runner on Kubernetes!"
    - echo "Pod name is $(hostname)"
    - date
build-job:
  stage: build
  image: alpine:latest
  script:
    - echo "building after the test stage"
`);
    const hello = result.job('hello-kubernetes');
    expect(result.status, hello.trace).toBe('success');
    const text = plain(hello.trace);
    expect(text).toMatch(/section_start:\d+:step_script\r/);
    const start = text.indexOf(':step_script');
    const greeting = text.indexOf('Hello from GitLab Runner on Kubernetes!', start);
    const end = text.indexOf('section_end', greeting);
    expect(start).toBeGreaterThan(0);
    expect(greeting).toBeGreaterThan(start);
    expect(end).toBeGreaterThan(greeting);
    expect(text).toMatch(/Pod name is runner-[a-z0-9]+-project-\d+-concurrent-0-[a-z0-9]{8}/);
    expect(text).toContain('Job succeeded');
    expect(text).toContain('Getting source from Git repository');
    expect(plain(result.job('build-job').trace)).toContain('building after the test stage');
    const views = result.jobs.map((j) => stack.gitlab.job(j.id));
    const [first, second] = views;
    expect(second?.startedAt && first?.finishedAt && second.startedAt >= first.finishedAt).toBe(true);
  });
});
