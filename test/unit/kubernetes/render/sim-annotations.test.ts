// The embedded Kubernetes' `sim.podrunner.dev/` annotations pass through pod_annotations (podrunner bench
// and tests set a virtual container's duration and output with them); podrunner's own keys stay protected.
import { describe, expect, it } from 'vitest';
import { baseInput, rendered, runnerConfig } from './support.ts';

describe('simulator annotations', () => {
  it('are set from pod_annotations, while other podrunner.dev keys are not', () => {
    const r = rendered(
      baseInput({
        runner: runnerConfig(
          [
            'image = "alpine"',
            '[runners.kubernetes.pod_annotations]',
            '  "sim.podrunner.dev/duration.build" = "5000ms"',
            '  "sim.podrunner.dev/log-bytes-per-second.build" = "13108"',
            '  "x.podrunner.dev/anything" = "no"',
            '  "podrunner.dev/version" = "9"',
          ].join('\n'),
        ),
      }),
    );
    const a = r.pod.metadata!.annotations!;
    expect(a['sim.podrunner.dev/duration.build']).toBe('5000ms');
    expect(a['sim.podrunner.dev/log-bytes-per-second.build']).toBe('13108');
    expect(a['x.podrunner.dev/anything']).toBeUndefined();
    expect(a['podrunner.dev/version']).toBe('0.1.0');
    expect(r.log.join('\n')).not.toMatch(/sim\.podrunner\.dev/);
    expect(r.log.join('\n')).toMatch(/Not setting pod annotation "x.podrunner.dev\/anything"/);
  });
});
