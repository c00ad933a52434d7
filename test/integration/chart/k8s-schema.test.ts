// The offline validator the chart tests rely on must reject what a real API server rejects.
import { describe, expect, it } from 'vitest';
import { type KubeObject, validateObject } from '../../support/k8s-schema.ts';

function deployment(podSpec: Record<string, unknown>, replicas: unknown = 1): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'manager', namespace: 'ci', labels: { app: 'manager' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'manager' } },
      template: { metadata: { labels: { app: 'manager' } }, spec: podSpec },
    },
  };
}

describe('validateObject', () => {
  it('accepts a well-formed Deployment', async () => {
    expect(await validateObject(deployment({ containers: [{ name: 'm', image: 'x' }] }))).toEqual([]);
  });

  it('reports an unknown field with its path', async () => {
    const problems = await validateObject(
      deployment({ containers: [{ name: 'm', image: 'x', sercurityContext: { privileged: false } }] }),
    );
    expect(problems).toEqual([
      'Deployment/manager: spec.template.spec.containers[0].sercurityContext: unknown field',
    ]);
  });

  it('reports wrong types and missing required fields', async () => {
    const problems = await validateObject(deployment({ containers: [{ image: 'x' }] }, 'two'));
    expect(problems.some((p) => p.includes('/spec/replicas'))).toBe(true);
    expect(problems.some((p) => p.includes('must have required property name'))).toBe(true);
  });

  it('reports invalid names and label values', async () => {
    const object = deployment({ containers: [{ name: 'm', image: 'x' }] });
    object.metadata = { name: 'Not_Valid', labels: { app: 'a'.repeat(64) } };
    const problems = await validateObject(object);
    expect(problems).toHaveLength(2);
  });

  it('reports kinds it has no schema for instead of passing them', async () => {
    const problems = await validateObject({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
    });
    expect(problems[0]).toContain('no schema for example.com/v1 Widget');
  });
});
