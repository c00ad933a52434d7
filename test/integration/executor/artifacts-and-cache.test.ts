// Artifacts and cache through the executor on the embedded cluster: job A saves artifacts to the
// embedded GitLab and a cache to an S3 stand-in (pre-signed URLs the manager makes, SigV4 checked)
// from its pod's uploader container; job B (`dependencies: [A]`) gets both from its helper.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PodObject } from '../../../src/sim/kube/kubelet-store.ts';
import { type ExecutorStack, startExecutorStack } from '../../support/executor-stack.ts';
import { S3StandIn } from '../helper/support/s3-server.ts';

let s3: S3StandIn;
let stack: ExecutorStack;
beforeAll(async () => {
  // Listening before any pod exists, so that pods reach it on 127.0.0.1.
  s3 = await S3StandIn.start();
  stack = await startExecutorStack({
    runnerToml: [
      '  [runners.cache]',
      '    Type = "s3"',
      '    Path = "ci-cache"',
      '    [runners.cache.s3]',
      `      ServerAddress = "${s3.address}"`,
      `      AccessKey = "${s3.accessKey}"`,
      `      SecretKey = "${s3.secretKey}"`,
      `      BucketName = "${s3.bucket}"`,
      `      BucketLocation = "${s3.region}"`,
      '      Insecure = true',
    ].join('\n'),
  });
});
afterAll(async () => {
  await stack?.stop();
  await s3?.stop();
});

const plain = (trace: string) => trace.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

function containerNames(pod: PodObject | undefined): string[] {
  return (pod?.spec?.containers ?? []).map((c) => c.name);
}

describe('artifacts and cache through the Kubernetes executor', () => {
  it('job B sees the artifacts and the cache job A saved from its uploader container', async () => {
    const result = await stack.pipeline(`
stages: [build, test]
A:
  stage: build
  image: alpine:latest
  script:
    - mkdir -p out deps
    - echo "artifact from A" > out/result.txt
    - echo "cached by A" > deps/lib.txt
  artifacts:
    paths: [out/]
  cache:
    key: deps
    paths: [deps/]
B:
  stage: test
  image: alpine:latest
  dependencies: [A]
  cache:
    key: deps
    paths: [deps/]
    policy: pull
  script:
    - cat out/result.txt
    - cat deps/lib.txt
`);
    const a = result.job('A');
    const b = result.job('B');
    expect(a.status, a.trace).toBe('success');
    expect(b.status, b.trace).toBe('success');

    // A: the uploader container ran after the build and reported what it uploaded.
    const podA = stack.podOf(a.id).last;
    expect(containerNames(podA)).toEqual(['build', 'uploader']);
    const uploader = podA?.status?.containerStatuses?.find((s) => s.name === 'uploader');
    expect(uploader?.state?.terminated?.exitCode).toBe(0);
    expect(JSON.parse(uploader?.state?.terminated?.message ?? '{}')).toMatchObject({ ok: true });
    const traceA = plain(a.trace);
    expect(traceA).toMatch(/section_start:\d+:archive_cache\r/);
    expect(traceA).toMatch(/section_start:\d+:upload_artifacts_on_success\r/);
    expect(traceA).toContain('Created cache');
    expect(stack.gitlab.job(a.id)?.artifacts.map((x) => x.type)).toContain('archive');
    const cacheObjects = [...s3.objects.keys()].filter((k) => k.includes('/deps'));
    expect(cacheObjects, [...s3.objects.keys()].join(', ')).toHaveLength(1);
    expect(s3.requests.some((r) => r.method === 'PUT' && r.status === 200)).toBe(true);

    // B: the helper downloaded A's artifacts and restored the cache before the script.
    const traceB = plain(b.trace);
    expect(traceB).toMatch(/section_start:\d+:restore_cache\r/);
    expect(traceB).toContain('Successfully extracted cache');
    expect(traceB).toMatch(/section_start:\d+:download_artifacts\r/);
    expect(traceB).toContain('artifact from A');
    expect(traceB).toContain('cached by A');
    expect(traceB.indexOf('Successfully extracted cache')).toBeLessThan(
      traceB.indexOf('$ cat out/result.txt'),
    );
    // Nothing to save in B (no artifacts, cache policy pull): no uploader container.
    expect(containerNames(stack.podOf(b.id).last)).toEqual(['build']);
  });
});
