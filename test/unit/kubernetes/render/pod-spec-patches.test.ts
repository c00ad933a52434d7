import type { V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubernetesConfigSchema } from '../../../../src/config/schema/kubernetes.ts';
import { RenderError } from '../../../../src/kubernetes/render/errors.ts';
import {
  applyPodSpecPatches,
  mergePatch,
  podSpecPatchPaths,
  strategicMerge,
} from '../../../../src/kubernetes/render/pod-spec-patches.ts';
import { baseInput, refused, rendered, runnerConfig } from './support.ts';

const spec = (): V1PodSpec => ({
  restartPolicy: 'Never',
  containers: [
    {
      name: 'build',
      image: 'alpine',
      env: [{ name: 'A', value: '1' }],
      volumeMounts: [{ name: 'builds', mountPath: '/builds' }],
    },
    { name: 'uploader', image: 'helper' },
  ],
  volumes: [{ name: 'builds', emptyDir: {} }],
  tolerations: [{ key: 'a', operator: 'Exists' }],
  nodeSelector: { pool: 'ci' },
});

const patches = (...p: Record<string, unknown>[]) => kubernetesConfigSchema.parse({ pod_spec: p }).pod_spec;

function error(fn: () => unknown): RenderError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RenderError) return e;
    throw e;
  }
  throw new Error('expected a RenderError');
}

describe('strategic merge patch', () => {
  it('merges containers by name, env by name, mounts by path; replaces lists without a merge key', () => {
    const out = strategicMerge(spec() as never, {
      containers: [
        {
          name: 'build',
          env: [{ name: 'B', value: '2' }],
          volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
        },
        { name: 'extra', image: 'busybox' },
      ],
      tolerations: [{ key: 'b', operator: 'Exists' }],
      nodeSelector: { pool: null, zone: 'a' },
    }) as unknown as V1PodSpec;
    expect(out.containers.map((c) => c.name)).toEqual(['build', 'uploader', 'extra']);
    expect(out.containers[0]!.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    expect(out.containers[0]!.volumeMounts!.map((m) => m.mountPath)).toEqual(['/builds', '/cache']);
    expect(out.containers[0]!.image).toBe('alpine');
    expect(out.tolerations).toEqual([{ key: 'b', operator: 'Exists' }]);
    expect(out.nodeSelector).toEqual({ zone: 'a' });
  });

  it('honours $patch: delete and replace, and $retainKeys', () => {
    const out = strategicMerge(spec() as never, {
      containers: [{ name: 'uploader', $patch: 'delete' }],
      volumes: [{ name: 'builds', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/srv' } }],
    }) as unknown as V1PodSpec;
    expect(out.containers.map((c) => c.name)).toEqual(['build']);
    expect(out.volumes).toEqual([{ name: 'builds', hostPath: { path: '/srv' } }]);
    const replaced = strategicMerge(spec() as never, {
      nodeSelector: { $patch: 'replace', only: 'this' },
    }) as unknown as V1PodSpec;
    expect(replaced.nodeSelector).toEqual({ only: 'this' });
    const list = strategicMerge(spec() as never, {
      volumes: [{ $patch: 'replace' }, { name: 'v', emptyDir: {} }],
    }) as unknown as V1PodSpec;
    expect(list.volumes).toEqual([{ name: 'v', emptyDir: {} }]);
  });
});

describe('merge patch (RFC 7386)', () => {
  it('merges maps, deletes with null and replaces lists', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [3] })).toEqual({
      b: { d: 3, e: 4 },
      a: 1,
      l: [3],
    });
    expect(mergePatch({ a: 1 }, 'x')).toBe('x');
  });
});

describe('applyPodSpecPatches', () => {
  it('applies strategic, merge and json patches (YAML or JSON text) in order', () => {
    const out = applyPodSpecPatches(
      spec(),
      patches(
        { name: 'hostname', patch: 'hostname: ci-job\n', patch_type: 'merge' },
        {
          name: 'env',
          patch: 'containers:\n  - name: build\n    env:\n      - name: C\n        value: "3"\n',
        },
        {
          name: 'json',
          patch:
            '[{"op": "replace", "path": "/restartPolicy", "value": "OnFailure"}, {"op": "add", "path": "/hostNetwork", "value": true}]',
          patch_type: 'json',
        },
      ),
    );
    expect(out.hostname).toBe('ci-job');
    expect(out.containers[0]!.env!.map((e) => e.name)).toEqual(['A', 'C']);
    expect(out.restartPolicy).toBe('OnFailure');
    expect(out.hostNetwork).toBe(true);
  });

  it('reads patch_path files from what the caller passed', () => {
    const p = patches({ name: 'file', patch_path: '/etc/podrunner/patch.yaml', patch_type: 'merge' });
    expect(podSpecPatchPaths({ pod_spec: p })).toEqual(['/etc/podrunner/patch.yaml']);
    expect(
      applyPodSpecPatches(spec(), p, { '/etc/podrunner/patch.yaml': 'priorityClassName: high' })
        .priorityClassName,
    ).toBe('high');
    expect(error(() => applyPodSpecPatches(spec(), p, {})).message).toMatch(
      /patch_path "\/etc\/podrunner\/patch.yaml" was not read/,
    );
  });

  it('names the patch that cannot be parsed or applied', () => {
    const bad = (p: Record<string, unknown>) => error(() => applyPodSpecPatches(spec(), patches(p)));
    expect(bad({ name: 'yaml', patch: 'a: [' }).message).toMatch(
      /^applying pod_spec patch "yaml" \(strategic\): /,
    );
    expect(
      bad({
        name: 'test',
        patch: '[{"op":"test","path":"/restartPolicy","value":"Always"}]',
        patch_type: 'json',
      }).code,
    ).toBe('POD_SPEC_PATCH_INVALID');
    expect(bad({ name: 'path', patch: '[{"op":"remove","path":"/nope/x"}]', patch_type: 'json' }).code).toBe(
      'POD_SPEC_PATCH_INVALID',
    );
    expect(bad({ name: 'shape', patch: '- a', patch_type: 'merge' }).message).toMatch(
      /a merge patch is a map/,
    );
    expect(bad({ name: 'del', patch: '$patch: delete' }).message).toMatch(/only valid inside a merged list/);
  });

  it('run only with FF_USE_ADVANCED_POD_SPEC_CONFIGURATION, and leave the input spec untouched', () => {
    const k8s =
      'image = "a"\n[[runners.kubernetes.pod_spec]]\nname = "host"\npatch = "hostname: ci"\npatch_type = "merge"';
    const off = rendered(baseInput({ runner: runnerConfig(k8s) }));
    expect(off.pod.spec!.hostname).toBeUndefined();
    expect(off.log.join('\n')).toMatch(/FF_USE_ADVANCED_POD_SPEC_CONFIGURATION is off/);
    const on = rendered(
      baseInput({
        runner: runnerConfig(k8s, '[runners.feature_flags]\nFF_USE_ADVANCED_POD_SPEC_CONFIGURATION = true'),
      }),
    );
    expect(on.pod.spec!.hostname).toBe('ci');
    const byVariable = rendered(
      baseInput({
        runner: runnerConfig(k8s),
        variables: [{ key: 'FF_USE_ADVANCED_POD_SPEC_CONFIGURATION', value: 'true', public: true }],
      }),
    );
    expect(byVariable.pod.spec!.hostname).toBe('ci');
    const original = spec();
    applyPodSpecPatches(original, patches({ patch: 'hostname: x', patch_type: 'merge' }));
    expect(original.hostname).toBeUndefined();
  });

  it('fails the render with POD_SPEC_PATCH_INVALID', () => {
    const k8s =
      'image = "a"\n[[runners.kubernetes.pod_spec]]\npatch = "[{\\"op\\":\\"remove\\",\\"path\\":\\"/nope\\"}]"\npatch_type = "json"';
    const e = refused(
      baseInput({
        runner: runnerConfig(k8s, '[runners.feature_flags]\nFF_USE_ADVANCED_POD_SPEC_CONFIGURATION = true'),
      }),
    );
    expect(e.code).toBe('POD_SPEC_PATCH_INVALID');
  });
});
