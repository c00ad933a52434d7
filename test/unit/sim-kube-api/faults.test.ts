import { describe, expect, it } from 'vitest';
import { apiFaultsSchema, FaultInjector } from '../../../src/sim/kube/api/faults.ts';
import { FaultsFileError, parseFaults } from '../../../src/sim/kube/faults-file.ts';

describe('faults', () => {
  it('reads a faults file with an api and a kubelet section, both validated', () => {
    const faults = parseFaults(
      `api:
  seed: 7
  errors:
    - { code: 429, rate: 0.5, verbs: [list], resources: [pods] }
  watch: { maxDurationSeconds: 30 }
kubelet:
  imagePullErrors: [{ image: 'registry.example/*', probability: 0.1 }]
`,
      'faults.yaml',
    );
    expect(faults.api?.errors[0]).toEqual({ code: 429, rate: 0.5, verbs: ['list'], resources: ['pods'] });
    expect(faults.api?.watch.maxDurationSeconds).toBe(30);
    expect(faults.kubelet).toEqual({ imagePullErrors: [{ image: 'registry.example/*', probability: 0.1 }] });
    expect(() => parseFaults('kubelet:\n  imagePullErrors: { rate: 0.1 }\n', 'k.yaml')).toThrowError(
      /k\.yaml: invalid faults: kubelet\.imagePullErrors/,
    );
    expect(parseFaults('{"api": {}}', 'f.json').api?.errors).toEqual([]);
  });

  it('names what is wrong in a bad file', () => {
    expect(() => parseFaults('api:\n  errors:\n    - { code: 418, rate: 2 }\n', 'f.yaml')).toThrowError(
      FaultsFileError,
    );
    expect(() => parseFaults('api:\n  errors:\n    - { code: 418, rate: 2 }\n', 'f.yaml')).toThrowError(
      /f\.yaml: invalid faults: api\.errors\.0\.code: .*; api\.errors\.0\.rate/,
    );
    expect(() => parseFaults('bogus: 1', 'f.yaml')).toThrowError(/Unrecognized key.*bogus/);
    expect(() => parseFaults('api: [', 'f.yaml')).toThrowError(/not YAML or JSON/);
  });

  it('chooses errors by rate with a seed, and by filter', () => {
    const injector = new FaultInjector(
      apiFaultsSchema.parse({ seed: 1, errors: [{ code: 500, rate: 0.5, verbs: ['get'] }] }),
    );
    const hits = Array.from({ length: 1000 }, () =>
      injector.errorFor({ verb: 'get', resource: 'pods', namespace: 'a' }),
    ).filter(Boolean).length;
    expect(hits).toBeGreaterThan(400);
    expect(hits).toBeLessThan(600);
    expect(injector.errorFor({ verb: 'list', resource: 'pods', namespace: 'a' })).toBeUndefined();
    const again = new FaultInjector(
      apiFaultsSchema.parse({ seed: 1, errors: [{ code: 500, rate: 0.5, verbs: ['get'] }] }),
    );
    const replay = Array.from({ length: 1000 }, () =>
      again.errorFor({ verb: 'get', resource: 'pods', namespace: 'a' }),
    ).filter(Boolean).length;
    expect(replay).toBe(hits);
  });

  it('reads pod annotations for errors and log drops', () => {
    const injector = new FaultInjector(apiFaultsSchema.parse({}));
    const annotations = {
      'sim.podrunner.dev/api-error-code': 'timeout',
      'sim.podrunner.dev/api-error-verbs': 'get,delete',
    };
    expect(injector.errorFromAnnotations(annotations, 'get')).toMatchObject({ code: 'timeout' });
    expect(injector.errorFromAnnotations(annotations, 'patch')).toBeUndefined();
    expect(
      injector.errorFromAnnotations({ 'sim.podrunner.dev/api-error-code': 'teapot' }, 'get'),
    ).toBeUndefined();
    expect(
      injector.logDrop({
        'sim.podrunner.dev/log-drop-after-bytes': '100',
        'sim.podrunner.dev/log-drop-mode': 'reset',
      }),
    ).toEqual({ afterBytes: 100, mode: 'reset' });
    expect(injector.logDrop({})).toBeUndefined();
    const lifetimes = new FaultInjector(
      apiFaultsSchema.parse({ watch: { minDurationSeconds: 1, maxDurationSeconds: 2 } }),
    );
    const ms = lifetimes.watchLifetimeMs()!;
    expect(ms).toBeGreaterThanOrEqual(1000);
    expect(ms).toBeLessThanOrEqual(2000);
  });
});
