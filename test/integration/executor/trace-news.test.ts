// Output that is news reaches GitLab without waiting out GitLab's update interval: the first output
// of the sources step and of the script, and output after a quiet spell, go out in a prompt PATCH,
// while the regular interval (here ten minutes, so no tick happens during the job) would have held
// them until the job's end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../../src/sim/gitlab/model.ts';
import { type ExecutorStack, startExecutorStack } from '../../support/executor-stack.ts';

let stack: ExecutorStack;
beforeAll(async () => {
  stack = await startExecutorStack({ traceUpdateIntervalMs: 600_000 });
});
afterAll(async () => {
  await stack?.stop();
});

describe('prompt trace PATCHes', () => {
  it('shows the first output and output after a quiet spell while the job still runs', async () => {
    /** What GitLab held after each PATCH of the job. */
    const seen: string[] = [];
    let jobId = -1;
    const onTrace = (job: Job) => {
      if (job.id === jobId) seen.push(stack.gitlab.traceBytes(jobId).toString('utf8'));
    };
    stack.gitlab.store.on('trace', onTrace);
    try {
      const started = await stack.startPipeline(`
news:
  image: alpine:latest
  script:
    - echo first-output-marker
    - sleep 4
    - echo after-quiet-marker
    - sleep 4
`);
      jobId = started.jobIds[0] ?? -1;
      const result = await started.done;
      expect(result.status, result.job('news').trace).toBe('success');
    } finally {
      stack.gitlab.store.off('trace', onTrace);
    }
    // The helper's first lines came before the script's …
    const sources = seen.findIndex((t) => t.includes('Fetching changes'));
    expect(sources, JSON.stringify(seen.map((t) => t.length))).toBeGreaterThanOrEqual(0);
    expect(seen[sources]).not.toContain('first-output-marker');
    // … the script's first output before the script printed anything else …
    const first = seen.findIndex((t) => t.includes('first-output-marker'));
    expect(first).toBeGreaterThan(sources);
    expect(seen[first]).not.toContain('after-quiet-marker');
    // … and the line after four quiet seconds before the job ended.
    const quiet = seen.findIndex((t) => t.includes('after-quiet-marker'));
    expect(quiet).toBeGreaterThan(first);
    expect(seen[quiet]).not.toContain('Job succeeded');
    expect(seen.at(-1)).toContain('Job succeeded');
    // A PATCH per piece of news (the helper's first lines, the script's, the line after the quiet
    // spell) and the final flush: not one per line.
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen.length).toBeLessThanOrEqual(6);
  }, 60_000);
});
