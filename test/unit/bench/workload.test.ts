import { describe, expect, it } from 'vitest';
import {
  jobName,
  managerConfigToml,
  pipelineYaml,
  virtualPodAnnotations,
} from '../../../src/bench/workload.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { syntheticLog } from '../../../src/manager/fake-executor.ts';
import { parseCiConfig } from '../../../src/sim/gitlab/ci/config.ts';

describe('the level’s pipeline', () => {
  it('is N identical jobs in one stage, carrying the duration and log volume', () => {
    const parsed = parseCiConfig(pipelineYaml(250, { durationMs: 1500, logBytes: 4096 }));
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const jobs = parsed.spec.jobs;
    expect(jobs).toHaveLength(250);
    expect(new Set(jobs.map((j) => j.stage))).toEqual(new Set(['bench']));
    expect(jobs[0]?.name).toBe('bench-00001');
    expect(jobs[249]?.name).toBe('bench-00250');
    for (const j of [jobs[0], jobs[249]]) {
      expect(j?.script).toEqual([
        "yes 'podrunner bench: synthetic build output, one line of many ...........' | head -c 4096",
        'sleep 1.5',
      ]);
      expect(j?.image?.name).toBe('alpine:3.19');
      expect(j?.variables).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ key: 'PODRUNNER_FAKE_DURATION_MS', value: '1500' }),
          expect.objectContaining({ key: 'PODRUNNER_FAKE_LOG_BYTES', value: '4096' }),
        ]),
      );
    }
  });

  it('prints nothing when no log volume is asked for', () => {
    const parsed = parseCiConfig(pipelineYaml(1, { durationMs: 200, logBytes: 0 }));
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    expect(parsed.spec.jobs[0]?.script).toEqual(['sleep 0.2']);
  });

  it('names jobs so they sort in creation order', () => {
    expect(jobName(0, 10)).toBe('bench-00001');
    expect(jobName(123_455, 200_000)).toBe('bench-123456');
  });
});

describe('the manager’s config.toml', () => {
  it('loads with concurrent = level and the runner entry', () => {
    const toml = managerConfigToml({
      concurrency: 500,
      gitlabUrl: 'http://127.0.0.1:1234',
      runnerToken: 'glrt-abc',
    });
    const r = parseConfig(toml, { env: {} });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.config.concurrent).toBe(500);
    expect(r.config.runners).toHaveLength(1);
    expect(r.config.runners[0]).toMatchObject({
      url: 'http://127.0.0.1:1234',
      token: 'glrt-abc',
      executor: 'kubernetes',
    });
    expect(r.warnings).toEqual([]);
  });

  it('carries the namespace and pod annotations for the Kubernetes executor', () => {
    const annotations = virtualPodAnnotations({ durationMs: 5000, logBytes: 65_536 });
    // printed once a second while the build runs: at 1, 2, 3, 4 and 5 s of a 5 s job
    expect(annotations).toEqual({
      'sim.podrunner.dev/duration.build': '5000ms',
      'sim.podrunner.dev/termination-message.build': '{"exit_code":0,"timed_out":false,"canceled":false}',
      'sim.podrunner.dev/log-bytes-per-second.build': '13108',
    });
    const toml = managerConfigToml({
      concurrency: 10,
      gitlabUrl: 'http://127.0.0.1:1234',
      runnerToken: 'glrt-abc',
      kubernetes: { namespace: 'bench', podAnnotations: annotations },
    });
    const r = parseConfig(toml, { env: {} });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.config.runners[0]?.kubernetes).toMatchObject({
      namespace: 'bench',
      image: 'alpine:3.19',
      pod_annotations: annotations,
    });
  });
});

describe('virtual pod annotations', () => {
  it('prints the log of a short job at its start, and nothing when none is asked for', () => {
    const short = virtualPodAnnotations({ durationMs: 800, logBytes: 300 });
    const output = short['sim.podrunner.dev/output.build'] ?? '';
    // `\n` stands for a new line; the runtime adds the last one
    expect(output.replaceAll('\\n', '\n')).toHaveLength(299);
    expect(short['sim.podrunner.dev/log-bytes-per-second.build']).toBeUndefined();
    expect(Object.keys(virtualPodAnnotations({ durationMs: 3000, logBytes: 0 }))).toEqual([
      'sim.podrunner.dev/duration.build',
      'sim.podrunner.dev/termination-message.build',
    ]);
  });
});

describe('the fake executor’s synthetic log', () => {
  it('gives exactly the bytes asked for, continuing where the last piece ended', () => {
    const whole = syntheticLog(0, 1000);
    expect(whole).toHaveLength(1000);
    expect(syntheticLog(0, 300) + syntheticLog(300, 700)).toBe(whole);
    expect(syntheticLog(5, 0)).toBe('');
    expect(whole.split('\n').length).toBeGreaterThan(5);
  });
});
