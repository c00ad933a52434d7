// Secrets through the executor on the embedded cluster: a masked variable that the job prints
// whole, in two writes a second apart, and across the first 1 MiB trace PATCH never reaches
// GitLab's trace; while the job runs, no Pod object (read with the real kubectl) holds a variable
// value or a token — they live in the job's Secret only.
import { execFile } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../../src/sim/gitlab/model.ts';
import { type ExecutorStack, startExecutorStack } from '../../support/executor-stack.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;

// GitLab's masking rules: at least 8 characters of the Base64 alphabet plus @:.~-.
const SECRET = 'Sup3r-S3cr3t-Value-0f-the-Job-4f1c9a7e';
const PLAIN = 'plain-setting-7d2e5b0c91';
const FILE_CONTENT = 'file-variable-content-1b6f0e3a';
const SERVICE_VALUE = 'service-variable-value-5a8d2c';

let stack: ExecutorStack;
/** A request the job makes and waits on while the test looks at its pod. */
let hold: Awaited<ReturnType<typeof startHold>>;
beforeAll(async () => {
  // No trace update before the job ends (no interval, no prompt PATCH for news): the final flush
  // sends the trace in 1 MiB PATCHes from 0.
  stack = await startExecutorStack({ traceUpdateIntervalMs: 600_000, tracePromptDelayMs: 0 });
  hold = await startHold();
});
afterAll(async () => {
  await hold?.close();
  await stack?.stop();
});

const ciYaml = `
variables:
  FF_TIMESTAMPS: "false"
secrets:
  image: alpine:latest
  services:
    - name: nginx:1.27
      alias: web
      variables:
        SERVICE_SETTING: ${SERVICE_VALUE}
  script:
    - echo "whole:$SECRET_VALUE"
    - printf 'split:%s' "\${SECRET_VALUE:0:16}"; sleep 1; printf '%s\\n' "\${SECRET_VALUE:16}"
    - cat "$SECRET_FILE"; echo
    - wget -q -O - "http://127.0.0.1:$HOLD_PORT/hold"
    - head -c "$FILL_BYTES" /dev/zero | tr '\\0' x; printf '%s\\n' "$SECRET_VALUE"
    - echo "after the fill"
`;

describe('secrets through the Kubernetes executor', () => {
  it('never lets a masked value into the trace, nor a value or token into a Pod object', async () => {
    const projectVariables = [
      { key: 'SECRET_VALUE', value: SECRET, masked: true },
      { key: 'PLAIN_SETTING', value: PLAIN },
      { key: 'SECRET_FILE', value: FILE_CONTENT, masked: true, file: true },
    ];
    const variables = (fill: number) => [
      { key: 'FILL_BYTES', value: String(fill) },
      { key: 'SERVICE_VALUE', value: SERVICE_VALUE },
      { key: 'HOLD_PORT', value: String(hold.port) },
    ];

    // A first run without fill finds where the job's output reaches the trace (the bytes before it
    // are the same for every run of this job in this project).
    const first = await stack.startPipeline(ciYaml, {}, { projectVariables, variables: variables(0) });
    const calibration = (await first.done).job('secrets');
    expect(calibration.status, calibration.trace).toBe('success');
    const lastMaskMarker = '[MASKED]\n\x1b[32;1m$ echo "after the fill"';
    const lastMask = stack.gitlab.traceBytes(calibration.id).indexOf(lastMaskMarker);
    expect(lastMask, calibration.trace).toBeGreaterThan(0);

    // The real run: the last secret starts 4 bytes before the end of the first 1 MiB PATCH.
    const arrived = hold.arm();
    const fill = MiB - 4 - lastMask;
    const patches: number[] = [];
    let secondId = -1;
    const onTrace = (job: Job, bytes: number) => {
      if (job.pipelineId === secondId) patches.push(bytes);
    };
    stack.gitlab.store.on('trace', onTrace);
    const second = await stack.startPipeline(
      ciYaml,
      {},
      { projectId: first.projectId, variables: variables(fill) },
    );
    secondId = second.id;
    const [jobId] = second.jobIds;
    if (jobId === undefined) throw new Error('no job');

    await arrived;
    const { stdout } = await run(
      '/usr/bin/kubectl',
      ['--kubeconfig', stack.kubeconfigPath, 'get', 'pods', '-o', 'json'],
      {
        maxBuffer: 64 * MiB,
      },
    );
    const pods = JSON.parse(stdout) as {
      items: { metadata: { name: string; annotations?: Record<string, string> } }[];
    };
    const pod = pods.items.find(
      (p) => p.metadata.annotations?.['job.runner.gitlab.com/id'] === String(jobId),
    );
    expect(pod, 'the job pod is running').toBeDefined();
    const token = stack.gitlab.job(jobId)?.token ?? '';
    expect(token.length).toBeGreaterThan(8);
    for (const value of [SECRET, PLAIN, FILE_CONTENT, SERVICE_VALUE, token, stack.runner.token]) {
      expect(stdout).not.toContain(value);
      expect(stdout).not.toContain(Buffer.from(value).toString('base64'));
    }
    // The service's environment is there by reference only.
    expect(stdout).toContain('"secretKeyRef"');
    // They are in the job's Secret (owned by the pod), which is where build.sh reads them.
    const secret = await run('/usr/bin/kubectl', [
      '--kubeconfig',
      stack.kubeconfigPath,
      'get',
      'secret',
      pod?.metadata.name ?? '',
      '-o',
      'json',
    ]);
    const data = (JSON.parse(secret.stdout) as { data: Record<string, string> }).data;
    const decoded = Object.values(data)
      .map((v) => Buffer.from(v, 'base64').toString('utf8'))
      .join('\n');
    expect(decoded).toContain(SECRET);
    expect(decoded).toContain(SERVICE_VALUE);
    expect(decoded).toContain(token);

    hold.release();
    const job = (await second.done).job('secrets');
    stack.gitlab.store.off('trace', onTrace);
    expect(job.status, job.trace.slice(0, 4000)).toBe('success');
    const trace = stack.gitlab.traceBytes(jobId);

    // Whole, split across two writes, the file variable, and at the PATCH boundary: masked.
    const text = trace.toString('utf8');
    for (const part of [SECRET, SECRET.slice(0, 16), SECRET.slice(16), FILE_CONTENT]) {
      expect(text).not.toContain(part);
    }
    expect(text).toContain('whole:[MASKED]\n');
    expect(text).toContain('split:[MASKED]\n');
    expect(text).toContain(lastMaskMarker);
    // The first PATCH was exactly 1 MiB and ended inside the last [MASKED].
    expect(patches[0]).toBe(MiB);
    expect(patches.length).toBeGreaterThan(1);
    expect(trace.subarray(MiB - 4, MiB + 4).toString()).toBe('[MASKED]');
  });
});

/** An HTTP endpoint on the host whose requests wait while it is armed. */
async function startHold() {
  const held: ServerResponse[] = [];
  let armed: (() => void) | undefined;
  const server = createServer((_req, res) => {
    if (!armed) {
      res.end('released\n');
      return;
    }
    held.push(res);
    armed();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const release = () => {
    armed = undefined;
    for (const res of held.splice(0)) res.end('released\n');
  };
  return {
    port: (server.address() as AddressInfo).port,
    /** From now on requests wait; resolves once one arrives. */
    arm: () =>
      new Promise<void>((resolve) => {
        armed = resolve;
      }),
    release,
    async close() {
      release();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
