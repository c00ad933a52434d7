import { describe, expect, it } from 'vitest';
import { decodeObject, parseBody } from '../../../src/sim/kube/api/decode.ts';
import type { ApiError } from '../../../src/sim/kube/api/status.ts';

const pod = (container: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { containers: [container] },
});

describe('request decoding', () => {
  it('checks types against the client-node models, accepting numbers for quantities', () => {
    expect(() =>
      decodeObject(
        pod({ name: 'c', image: 'x', resources: { limits: { cpu: 1, memory: '1Gi' } } }),
        'V1Pod',
        'Pod',
        'v1',
        'Strict',
      ),
    ).not.toThrow();
    expect(() => decodeObject(pod({ name: 'c', image: 7 }), 'V1Pod', 'Pod', 'v1', 'Strict')).toThrowError(
      'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number into Go struct field Container.spec.containers.image of type string',
    );
    expect(() =>
      decodeObject({ metadata: { labels: { a: 1 } } }, 'V1Secret', 'Secret', 'v1', 'Ignore'),
    ).toThrowError(
      /cannot unmarshal number into Go struct field ObjectMeta\.metadata\.labels\.a of type string/,
    );
    expect(() =>
      decodeObject(
        { metadata: {}, spec: { ports: [{ port: 80, targetPort: 'web' }] } },
        'V1Service',
        'Service',
        'v1',
        'Strict',
      ),
    ).not.toThrow();
  });

  it('reports unknown fields by validation mode', () => {
    const body = pod({ name: 'c', image: 'x', bogus: true });
    expect(() => decodeObject(body, 'V1Pod', 'Pod', 'v1', 'Strict')).toThrowError(
      'strict decoding error: unknown field "spec.containers[0].bogus"',
    );
    expect(decodeObject(body, 'V1Pod', 'Pod', 'v1', 'Warn').unknownFields).toEqual([
      'spec.containers[0].bogus',
    ]);
    expect(decodeObject(body, 'V1Pod', 'Pod', 'v1', 'Ignore').unknownFields).toEqual([]);
  });

  it('parses JSON and YAML bodies; bad bodies are 400s', () => {
    expect(parseBody(Buffer.from('a: 1'), 'application/yaml', 'Pod')).toEqual({ a: 1 });
    expect(parseBody(Buffer.from('{"a":1}'), 'application/json; charset=utf-8', 'Pod')).toEqual({ a: 1 });
    expect(() => parseBody(Buffer.from(''), 'application/json', 'Pod')).toThrowError(
      "the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: unexpected end of JSON input",
    );
    try {
      parseBody(Buffer.from('x'), 'text/csv', 'Pod');
    } catch (err) {
      expect((err as ApiError).code).toBe(415);
    }
  });
});
