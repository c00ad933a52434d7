import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, strategicMerge } from '../../../src/sim/kube/api/patch.ts';
import { ApiError } from '../../../src/sim/kube/api/status.ts';

describe('patches', () => {
  it('JSON merge patch replaces lists and deletes with null', () => {
    expect(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] })).toEqual({
      a: { c: 2, d: 3 },
      l: [3],
    });
  });

  it('strategic merge patch merges lists by their key and honours directives', () => {
    const pod = {
      metadata: { finalizers: ['a'] },
      spec: {
        containers: [
          { name: 'build', image: 'a', env: [{ name: 'X', value: '1' }] },
          { name: 'helper', image: 'h' },
        ],
        tolerations: [{ key: 'a' }],
      },
      status: {
        conditions: [
          { type: 'Ready', status: 'False' },
          { type: 'Initialized', status: 'True' },
        ],
      },
    };
    const patched = strategicMerge(
      pod,
      {
        metadata: { finalizers: ['b'] },
        spec: {
          containers: [
            { name: 'build', env: [{ name: 'Y', value: '2' }] },
            { name: 'helper', $patch: 'delete' },
            { name: 'new', image: 'n' },
          ],
          tolerations: [{ key: 'b' }],
        },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      },
      '',
    );
    expect(patched).toEqual({
      metadata: { finalizers: ['a', 'b'] },
      spec: {
        containers: [
          {
            name: 'build',
            image: 'a',
            env: [
              { name: 'X', value: '1' },
              { name: 'Y', value: '2' },
            ],
          },
          { name: 'new', image: 'n' },
        ],
        tolerations: [{ key: 'b' }],
      },
      status: {
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'Initialized', status: 'True' },
        ],
      },
    });
    expect(
      strategicMerge(
        pod,
        { metadata: { $deleteFromPrimitiveList: undefined, '$deleteFromPrimitiveList/finalizers': ['a'] } },
        '',
      ),
    ).toMatchObject({ metadata: { finalizers: [] } });
    expect(strategicMerge({ spec: { a: 1, b: 2 } }, { spec: { $patch: 'replace', c: 3 } }, '')).toEqual({
      spec: { c: 3 },
    });
  });

  it('JSON patch (RFC 6902) and its failures', () => {
    const doc = { metadata: { labels: { a: '1' } }, list: [1, 2] };
    expect(
      jsonPatch(doc, [
        { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
        { op: 'remove', path: '/metadata/labels/a' },
        { op: 'add', path: '/list/-', value: 3 },
        { op: 'replace', path: '/list/0', value: 0 },
        { op: 'test', path: '/list/2', value: 3 },
        { op: 'copy', from: '/list/2', path: '/copied' },
      ]),
    ).toEqual({ metadata: { labels: { 'b/c': '2' } }, list: [0, 2, 3], copied: 3 });
    expect(doc).toEqual({ metadata: { labels: { a: '1' } }, list: [1, 2] });
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/list/0', value: 9 }])).toThrowError(ApiError);
    expect(() => jsonPatch(doc, [{ op: 'remove', path: '/nope' }])).toThrowError(ApiError);
  });
});
