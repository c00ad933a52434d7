// Decoding kubectl's protobuf request bodies: the bytes are built here with a tiny encoder following
// the generated.proto field numbers.
import { describe, expect, it } from 'vitest';
import { decodeProtobufBody } from '../../../src/sim/kube/api/protobuf.ts';
import { ApiError } from '../../../src/sim/kube/api/status.ts';

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const bytes = (field: number, data: Buffer | string) => {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.from([...varint(field * 8 + 2), ...varint(b.length), ...b]);
};
const int = (field: number, n: number) => Buffer.from([...varint(field * 8), ...varint(n)]);
const msg = (...parts: Buffer[]) => Buffer.concat(parts);
const entry = (field: number, key: string, value: Buffer | string) =>
  bytes(field, msg(bytes(1, key), bytes(2, value)));

function envelope(kind: string, raw: Buffer): Buffer {
  const unknown = msg(bytes(1, msg(bytes(1, 'v1'), bytes(2, kind))), bytes(2, raw));
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
}

describe('protobuf request bodies', () => {
  it('decodes a Secret as kubectl create secret sends it', () => {
    const meta = msg(bytes(1, 'creds'), bytes(2, ''), bytes(3, 'ci'), int(7, 0), entry(11, 'app', 'x'));
    const secret = msg(
      bytes(1, meta),
      entry(2, 'token', Buffer.from([0, 1, 2])),
      entry(2, 'empty', ''),
      bytes(3, 'Opaque'),
    );
    expect(decodeProtobufBody(envelope('Secret', secret))).toEqual({
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { name: 'creds', namespace: 'ci', labels: { app: 'x' } },
      data: { token: 'AAEC', empty: '' },
      type: 'Opaque',
    });
  });

  it('decodes a Service with int-or-string ports and a Namespace', () => {
    const port = msg(
      bytes(1, 'http'),
      bytes(2, 'TCP'),
      int(3, 80),
      bytes(4, msg(int(1, 1), bytes(3, 'web'))),
    );
    const service = msg(
      bytes(1, msg(bytes(1, 'svc'))),
      bytes(2, msg(bytes(1, port), entry(2, 'app', 'web'), bytes(4, 'ClusterIP'))),
    );
    expect(decodeProtobufBody(envelope('Service', service))).toEqual({
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { name: 'svc' },
      spec: {
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'web' }],
        selector: { app: 'web' },
        type: 'ClusterIP',
      },
    });
    expect(
      decodeProtobufBody(
        envelope('Namespace', msg(bytes(1, msg(bytes(1, 'ci'))), bytes(2, msg(bytes(1, 'kubernetes'))))),
      ),
    ).toEqual({
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: { name: 'ci' },
      spec: { finalizers: ['kubernetes'] },
    });
  });

  it('refuses what it cannot read', () => {
    expect(() => decodeProtobufBody(Buffer.from('{}'))).toThrowError(ApiError);
    try {
      decodeProtobufBody(envelope('Deployment', Buffer.alloc(0)));
    } catch (err) {
      expect((err as ApiError).code).toBe(415);
    }
  });
});
