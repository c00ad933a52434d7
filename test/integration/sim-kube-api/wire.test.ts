// The wire format of the embedded API server, held to the exact shapes, codes and messages of
// /work/shared/docs/kubernetes-behaviour.md (discovery, lists, watch, Tables, logs, create, delete).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  condition,
  running,
  ScriptedKubelet,
  startCluster,
  type TestCluster,
  terminated,
  waiting,
} from './harness.ts';
import { Wire } from './wire.ts';

let cluster: TestCluster;
let wire: Wire;
let kubelet: ScriptedKubelet;

const ns = '/api/v1/namespaces/default';

beforeAll(async () => {
  cluster = await startCluster({ api: { bookmarkIntervalMs: 200 } });
  wire = new Wire(cluster.sim.url);
  kubelet = new ScriptedKubelet(cluster.sim.store);
});

afterAll(async () => {
  kubelet.stop();
  await wire.close();
  await cluster.close();
});

function podBody(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...extra },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      initContainers: [{ name: 'helper', image: 'helper:1' }],
      containers: [
        { name: 'build', image: 'alpine:3.19' },
        { name: 'uploader', image: 'helper:1' },
      ],
    },
  };
}

describe('discovery', () => {
  it('serves /version, /api, /apis and the group versions', async () => {
    expect((await wire.get('/version')).json).toMatchObject({
      major: '1',
      minor: '32',
      gitVersion: 'v1.32.2',
      platform: expect.stringMatching(/^linux\//),
    });
    const api = await wire.get('/api');
    expect(api.json).toMatchObject({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0' }],
    });
    expect(api.json).not.toHaveProperty('apiVersion');
    expect((await wire.get('/apis')).json).toEqual({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [
        {
          name: 'coordination.k8s.io',
          versions: [{ groupVersion: 'coordination.k8s.io/v1', version: 'v1' }],
          preferredVersion: { groupVersion: 'coordination.k8s.io/v1', version: 'v1' },
        },
      ],
    });
    const core = (await wire.get('/api/v1')).json as {
      kind: string;
      groupVersion: string;
      resources: { name: string }[];
    };
    expect(core).toMatchObject({ kind: 'APIResourceList', groupVersion: 'v1' });
    expect(core).not.toHaveProperty('apiVersion');
    expect(core.resources.find((r) => r.name === 'pods')).toEqual({
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['po'],
      categories: ['all'],
      storageVersionHash: 'xPOwRZ+Yhw8=',
    });
    expect(core.resources.find((r) => r.name === 'pods/log')).toEqual({
      name: 'pods/log',
      singularName: '',
      namespaced: true,
      kind: 'Pod',
      verbs: ['get'],
    });
    const names = core.resources.map((r) => r.name);
    expect(names).toEqual([...names].sort());
    for (const name of ['events', 'secrets', 'configmaps', 'services', 'namespaces', 'nodes'])
      expect(names).toContain(name);
    const coordination = (await wire.get('/apis/coordination.k8s.io/v1')).json;
    expect(coordination).toMatchObject({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'coordination.k8s.io/v1',
      resources: [{ name: 'leases', namespaced: true, kind: 'Lease' }],
    });
  });

  it('answers unknown paths with a Status 404 under a served version, plain text elsewhere', async () => {
    const status = await wire.get('/api/v1/foos');
    expect(status.status).toBe(404);
    expect(status.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server could not find the requested resource',
      reason: 'NotFound',
      details: {},
      code: 404,
    });
    const plain = await wire.get('/foo');
    expect(plain).toMatchObject({ status: 404, text: '404 page not found\n' });
    expect(plain.headers['content-type']).toBe('text/plain; charset=utf-8');
  });
});

describe('objects and lists', () => {
  it('creates with server-set fields, generateName and dryRun; lists in key order without item kinds', async () => {
    const created = await wire.call('POST', `${ns}/pods`, podBody('wire-b'));
    expect(created.status).toBe(201);
    const pod = created.json as {
      kind: string;
      metadata: Record<string, string>;
      status: Record<string, string>;
      spec: Record<string, unknown>;
    };
    expect(Object.keys(pod).slice(0, 2)).toEqual(['kind', 'apiVersion']);
    expect(pod.metadata.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(pod.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(pod.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(pod.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    expect(pod.spec).toMatchObject({
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      serviceAccountName: 'default',
      enableServiceLinks: true,
    });

    const generated = await wire.call('POST', `${ns}/pods`, {
      ...podBody(''),
      metadata: { generateName: 'runner-abc-' },
    });
    expect((generated.json as { metadata: { name: string } }).metadata.name).toMatch(
      /^runner-abc-[bcdfghjklmnpqrstvwxz2456789]{5}$/,
    );

    const dry = await wire.call('POST', `${ns}/pods?dryRun=All`, podBody('wire-dry'));
    expect(dry.status).toBe(201);
    expect((dry.json as { metadata: Record<string, string> }).metadata).not.toHaveProperty('resourceVersion');
    expect((await wire.get(`${ns}/pods/wire-dry`)).status).toBe(404);
    const badDry = await wire.call('POST', `${ns}/pods?dryRun=Some`, podBody('wire-dry'));
    expect(badDry.status).toBe(422);

    await wire.call('POST', `${ns}/pods`, podBody('wire-a'));
    await wire.call('POST', '/api/v1/namespaces/kube-system/pods', podBody('wire-a'));
    const list = (await wire.get('/api/v1/pods')).json as {
      kind: string;
      apiVersion: string;
      metadata: { resourceVersion: string };
      items: Record<string, unknown>[];
    };
    expect(list.kind).toBe('PodList');
    expect(list.metadata.resourceVersion).toMatch(/^\d+$/);
    const keys = list.items.map(
      (i) => `${(i.metadata as { namespace: string }).namespace}/${(i.metadata as { name: string }).name}`,
    );
    expect(keys).toEqual([...keys].sort());
    expect(keys.slice(-1)).toEqual(['kube-system/wire-a']);
    for (const item of list.items) {
      expect(item).not.toHaveProperty('kind');
      expect(item).not.toHaveProperty('apiVersion');
    }
    expect((await wire.get('/api/v1/namespaces/kube-public/secrets')).json).toMatchObject({
      kind: 'SecretList',
      items: [],
    });
  });

  it('reports create errors like a real server', async () => {
    const exists = await wire.call('POST', `${ns}/pods`, podBody('wire-a'));
    expect(exists.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "wire-a" already exists',
      reason: 'AlreadyExists',
      details: { name: 'wire-a', kind: 'pods' },
      code: 409,
    });
    const invalid = await wire.call('POST', `${ns}/pods`, {
      ...podBody('Bad_Name'),
      spec: { containers: [{ name: 'c' }] },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.json).toMatchObject({
      reason: 'Invalid',
      message: expect.stringMatching(
        /^Pod "Bad_Name" is invalid: \[metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain .*, spec\.containers\[0\]\.image: Required value\]$/,
      ),
      details: {
        name: 'Bad_Name',
        kind: 'Pod',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: expect.stringMatching(/^Invalid value: "Bad_Name": /),
            field: 'metadata.name',
          },
          { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers[0].image' },
        ],
      },
    });
    const noNamespace = await wire.call('POST', '/api/v1/namespaces/nope/pods', podBody('x'));
    expect(noNamespace.json).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'namespaces "nope" not found',
      details: { name: 'nope', kind: 'namespaces' },
    });
    const wrongType = await wire.call('POST', `${ns}/pods`, {
      ...podBody('x'),
      spec: { containers: 'nope' },
    });
    expect(wrongType.json).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message:
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container',
    });
    const notJson = await wire.call('POST', `${ns}/pods`, '{"kind":');
    expect(notJson.json).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: expect.stringContaining("couldn't get version/kind; json parse error"),
    });
    const warn = await wire.call('POST', `${ns}/configmaps`, {
      metadata: { name: 'warned' },
      data: {},
      extra: 1,
    });
    expect(warn.status).toBe(201);
    expect(warn.headers.warning).toBe('299 - "unknown field \\"extra\\""');
  });

  it('updates with optimistic concurrency; a no-op write keeps the resourceVersion', async () => {
    const current = (await wire.get(`${ns}/configmaps/warned`)).json as {
      metadata: { resourceVersion: string };
    };
    const same = await wire.call('PUT', `${ns}/configmaps/warned`, current);
    expect((same.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion).toBe(
      current.metadata.resourceVersion,
    );
    const changed = await wire.call('PUT', `${ns}/configmaps/warned`, { ...current, data: { a: '1' } });
    expect(
      Number((changed.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion),
    ).toBeGreaterThan(Number(current.metadata.resourceVersion));
    const stale = await wire.call('PUT', `${ns}/configmaps/warned`, { ...current, data: { a: '2' } });
    expect(stale.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Operation cannot be fulfilled on configmaps "warned": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict',
      details: { name: 'warned', kind: 'configmaps' },
      code: 409,
    });
  });

  it('patches: merge, strategic merge by key, JSON patch; unknown types are 415', async () => {
    const merge = await wire.call(
      'PATCH',
      `${ns}/pods/wire-a`,
      { metadata: { labels: { a: '1', b: '2' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect((merge.json as { metadata: { labels: unknown } }).metadata.labels).toEqual({ a: '1', b: '2' });
    const remove = await wire.call(
      'PATCH',
      `${ns}/pods/wire-a`,
      { metadata: { labels: { a: null } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect((remove.json as { metadata: { labels: unknown } }).metadata.labels).toEqual({ b: '2' });
    const strategic = await wire.call(
      'PATCH',
      `${ns}/pods/wire-a`,
      { spec: { containers: [{ name: 'uploader', image: 'helper:2' }] } },
      { 'content-type': 'application/strategic-merge-patch+json' },
    );
    const containers = (strategic.json as { spec: { containers: { name: string; image: string }[] } }).spec
      .containers;
    expect(containers.map((c) => `${c.name}=${c.image}`)).toEqual(['build=alpine:3.19', 'uploader=helper:2']);
    const jsonPatch = await wire.call(
      'PATCH',
      `${ns}/pods/wire-a`,
      [{ op: 'add', path: '/metadata/annotations', value: { x: 'y' } }],
      { 'content-type': 'application/json-patch+json' },
    );
    expect((jsonPatch.json as { metadata: { annotations: unknown } }).metadata.annotations).toEqual({
      x: 'y',
    });
    const immutable = await wire.call(
      'PATCH',
      `${ns}/pods/wire-a`,
      { spec: { restartPolicy: 'Always' } },
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(immutable.json).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message: expect.stringContaining('spec: Forbidden: pod updates may not change fields other than'),
    });
    const unsupported = await wire.call('PATCH', `${ns}/pods/wire-a`, {}, { 'content-type': 'text/plain' });
    expect(unsupported.json).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' });
    const missing = await wire.call(
      'PATCH',
      `${ns}/pods/nope`,
      {},
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(missing.json).toMatchObject({ code: 404, message: 'pods "nope" not found' });
  });

  it('selects by labels (=, !=, in, notin, exists, !key) and fields; unknown fields are a 400', async () => {
    const names = async (query: string) =>
      ((await wire.get(`${ns}/pods?${query}`)).json as { items: { metadata: { name: string } }[] }).items.map(
        (i) => i.metadata.name,
      );
    expect(await names('labelSelector=b%3D2')).toEqual(['wire-a']);
    expect(await names('labelSelector=b%20in%20(2,3)')).toEqual(['wire-a']);
    expect(await names('labelSelector=b%20notin%20(2),!nope')).toEqual(
      expect.not.arrayContaining(['wire-a']),
    );
    expect(await names('labelSelector=!b')).toEqual(expect.not.arrayContaining(['wire-a']));
    expect(await names('labelSelector=b')).toEqual(['wire-a']);
    expect(await names('labelSelector=b!%3D2')).toEqual(expect.not.arrayContaining(['wire-a']));
    expect(await names('fieldSelector=metadata.name%3Dwire-b')).toEqual(['wire-b']);
    expect(await names('fieldSelector=status.phase%3DPending,metadata.name!%3Dwire-b')).toContain('wire-a');
    expect(await names('fieldSelector=status.phase%3DRunning')).toEqual([]);
    expect((await wire.get(`${ns}/pods?fieldSelector=spec.bogus%3Dx`)).json).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: 'field label not supported: spec.bogus',
    });
    expect((await wire.get(`${ns}/configmaps?fieldSelector=data%3Dx`)).json).toMatchObject({
      code: 400,
      message: '"data" is not a known field selector: only "metadata.name", "metadata.namespace"',
    });
    expect((await wire.get(`${ns}/pods?labelSelector=a%20in%20(`)).json).toMatchObject({
      code: 400,
      reason: 'BadRequest',
    });
    const rvMatch = await wire.get(`${ns}/pods?resourceVersionMatch=NotOlderThan`);
    expect(rvMatch.json).toMatchObject({
      code: 422,
      message:
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    });
  });
});

describe('watch', () => {
  it('streams synthetic ADDED, then changes after the resourceVersion, with selector transitions', async () => {
    const initial = await wire.watch(`${ns}/pods?watch=true&labelSelector=watched%3Dyes`);
    expect(initial.status).toBe(200);
    expect(initial.headers['content-type']).toBe('application/json');
    expect(initial.headers['transfer-encoding']).toBe('chunked');
    await wire.call(
      'PATCH',
      `${ns}/pods/wire-b`,
      { metadata: { labels: { watched: 'yes' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    await initial.waitFor(1);
    const added = initial.events[0]!;
    expect(added.type).toBe('ADDED');
    expect(added.object).toMatchObject({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: 'wire-b', labels: { watched: 'yes' } },
    });
    const before = (added.object.metadata as { resourceVersion: string }).resourceVersion;
    const unlabel = await wire.call(
      'PATCH',
      `${ns}/pods/wire-b`,
      { metadata: { labels: { watched: 'no' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    await initial.waitFor(2);
    const deleted = initial.events[1]!;
    expect(deleted.type).toBe('DELETED');
    // the last matching state, with this change's resourceVersion
    expect(deleted.object).toMatchObject({
      metadata: {
        labels: { watched: 'yes' },
        resourceVersion: (unlabel.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
      },
    });
    initial.stop();

    const resumed = await wire.watch(
      `${ns}/pods?watch=true&resourceVersion=${before}&fieldSelector=metadata.name%3Dwire-b&timeoutSeconds=1`,
    );
    await resumed.ended;
    expect(resumed.events.map((e) => e.type)).toEqual(['MODIFIED']);

    const oneObject = await wire.watch(
      `${ns}/pods?watch=true&fieldSelector=metadata.name%3Dwire-a&timeoutSeconds=1`,
    );
    expect(await oneObject.ended).toBe('');
    expect(oneObject.events.map((e) => `${e.type} ${(e.object.metadata as { name: string }).name}`)).toEqual([
      'ADDED wire-a',
    ]);
  });

  it('sends BOOKMARKs when allowed and 410 Expired for a resourceVersion older than the history', async () => {
    const bookmarks = await wire.watch(
      `${ns}/pods?watch=true&resourceVersion=${cluster.sim.api.registry.store.currentRv()}&allowWatchBookmarks=true&timeoutSeconds=1`,
    );
    await bookmarks.ended;
    const bookmark = bookmarks.events.find((e) => e.type === 'BOOKMARK');
    expect(bookmark?.object).toEqual({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { resourceVersion: expect.stringMatching(/^\d+$/), creationTimestamp: null },
    });

    const old = await wire.watch(`${ns}/pods?watch=true&resourceVersion=5`);
    expect(old.status).toBe(200);
    await old.ended;
    expect(old.events).toEqual([
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: expect.stringMatching(/^too old resource version: 5 \(\d+\)$/),
          reason: 'Expired',
          code: 410,
        },
      },
    ]);
  });
});

describe('Tables', () => {
  const tableAccept = {
    accept:
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
  };

  it('answers a Table with every cell of every column and PartialObjectMetadata rows', async () => {
    const table = (await wire.get(`${ns}/pods?limit=500`, tableAccept)).json as {
      kind: string;
      apiVersion: string;
      metadata: { resourceVersion: string };
      columnDefinitions: Record<string, unknown>[];
      rows: { cells: unknown[]; object: Record<string, unknown> }[];
    };
    expect(table).toMatchObject({
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: expect.any(String) },
    });
    expect(table.columnDefinitions.map((c) => [c.name, c.priority])).toEqual([
      ['Name', 0],
      ['Ready', 0],
      ['Status', 0],
      ['Restarts', 0],
      ['Age', 0],
      ['IP', 1],
      ['Node', 1],
      ['Nominated Node', 1],
      ['Readiness Gates', 1],
    ]);
    for (const c of table.columnDefinitions)
      expect(Object.keys(c).sort()).toEqual(['description', 'format', 'name', 'priority', 'type']);
    for (const row of table.rows) {
      expect(row.cells).toHaveLength(9);
      expect(row.object).toMatchObject({
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        metadata: { name: expect.any(String) },
      });
    }
    const one = (await wire.get(`${ns}/pods/wire-a?includeObject=None`, tableAccept)).json as {
      rows: Record<string, unknown>[];
    };
    expect(one.rows).toHaveLength(1);
    expect(one.rows[0]).not.toHaveProperty('object');
    const bad = await wire.get(`${ns}/pods?includeObject=Everything`, tableAccept);
    expect(bad.json).toMatchObject({
      code: 400,
      message: expect.stringMatching(/^Unable to convert to Table as requested: /),
    });
    const secrets = (await wire.get(`${ns}/secrets`, tableAccept)).json as {
      columnDefinitions: { name: string }[];
    };
    expect(secrets.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Type', 'Data', 'Age']);
  });

  it('marks terminal pods in rows and sends column definitions only with the first watch event', async () => {
    await wire.call('POST', `${ns}/pods`, podBody('wire-done'));
    kubelet.bind('default', 'wire-done');
    kubelet.status('default', 'wire-done', {
      phase: 'Succeeded',
      initContainerStatuses: [terminated('helper', 0, 'Completed')],
      containerStatuses: [terminated('build', 0, 'Completed'), terminated('uploader', 0, 'Completed')],
    });
    const row = (
      (await wire.get(`${ns}/pods/wire-done`, tableAccept)).json as {
        rows: { cells: unknown[]; conditions: unknown }[];
      }
    ).rows[0]!;
    expect(row.cells.slice(1, 3)).toEqual(['0/2', 'Completed']);
    expect(row.conditions).toEqual([
      {
        type: 'Completed',
        status: 'True',
        reason: 'Succeeded',
        message: 'The pod has completed successfully.',
      },
    ]);

    const watch = await wire.watch(
      `${ns}/pods?watch=true&fieldSelector=metadata.name%3Dwire-done`,
      tableAccept,
    );
    await watch.waitFor(1);
    await wire.call(
      'PATCH',
      `${ns}/pods/wire-done`,
      { metadata: { labels: { x: 'y' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    await watch.waitFor(2);
    watch.stop();
    expect(watch.events[0]!.object).toMatchObject({
      kind: 'Table',
      columnDefinitions: expect.any(Array),
      rows: [{ cells: expect.any(Array) }],
    });
    expect(watch.events[1]!.object.columnDefinitions).toBeNull();
  });
});

describe('pods/log', () => {
  it('gives the API server and kubelet answers for every state', async () => {
    const get = (name: string, query = '') => wire.get(`${ns}/pods/${name}/log${query}`);
    expect((await get('nope')).json).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'pods "nope" not found',
      details: { name: 'nope', kind: 'pods' },
    });
    expect((await get('wire-a')).json).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: 'a container name must be specified for pod wire-a, choose one of: [helper build uploader]',
    });
    expect((await get('wire-a', '?container=other')).json).toMatchObject({
      code: 400,
      message: 'container other is not valid for pod wire-a',
    });
    const unscheduled = await get('wire-a', '?container=build');
    expect(unscheduled.status).toBe(204);
    expect(unscheduled.text).toBe('');

    kubelet.bind('default', 'wire-a');
    expect((await get('wire-a', '?container=build')).json).toMatchObject({
      code: 400,
      message: 'container "build" in pod "wire-a" is not available',
    });
    kubelet.status('default', 'wire-a', {
      phase: 'Pending',
      initContainerStatuses: [running('helper', false)],
      containerStatuses: [waiting('build', 'PodInitializing'), waiting('uploader', 'PodInitializing')],
    });
    expect((await get('wire-a', '?container=build')).json).toMatchObject({
      code: 400,
      message: 'container "build" in pod "wire-a" is waiting to start: PodInitializing',
    });
    expect((await get('wire-a', '?container=helper&previous=true')).json).toMatchObject({
      code: 400,
      message: 'previous terminated container "helper" in pod "wire-a" not found',
    });

    const invalid = await get(
      'wire-a',
      '?container=helper&tailLines=-1&limitBytes=0&sinceSeconds=5&sinceTime=2025-01-01T00:00:00Z',
    );
    expect(invalid.json).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message:
        'PodLogOptions "wire-a" is invalid: [tailLines: Invalid value: -1: must be greater than or equal to 0, limitBytes: Invalid value: 0: must be greater than 0, : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified]',
      details: { name: 'wire-a', kind: 'PodLogOptions' },
    });

    const log = kubelet.log('default', 'wire-a', 'helper');
    const early = new Date(Date.now() - 120_000);
    log.write('stdout', Buffer.from('old line\n'), early);
    log.write('stdout', Buffer.from('new line\n'), new Date());
    const all = await get('wire-a', '?container=helper');
    expect(all).toMatchObject({ status: 200, text: 'old line\nnew line\n' });
    expect(all.headers['content-type']).toBe('text/plain');
    expect((await get('wire-a', '?container=helper&sinceSeconds=60')).text).toBe('new line\n');
    expect(
      (
        await get(
          'wire-a',
          `?container=helper&sinceTime=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`,
        )
      ).text,
    ).toBe('new line\n');
    expect((await get('wire-a', '?container=helper&limitBytes=4')).text).toBe('old ');
    const stamped = (await get('wire-a', '?container=helper&timestamps=true')).text.split('\n');
    expect(stamped[0]).toBe(`${early.toISOString().slice(0, 23)}000000Z old line`);
  });
});

describe('deletion', () => {
  it('deletes a scheduled pod gracefully, an unscheduled one at once, and answers Secrets with a Status', async () => {
    const watch = await wire.watch(
      `${ns}/pods?watch=true&fieldSelector=metadata.name%3Dwire-a&resourceVersion=${cluster.sim.api.registry.store.currentRv()}`,
    );
    const graceful = await wire.call('DELETE', `${ns}/pods/wire-a`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      gracePeriodSeconds: 20,
    });
    expect(graceful.status).toBe(200);
    const body = graceful.json as {
      kind: string;
      metadata: { deletionTimestamp: string; deletionGracePeriodSeconds: number };
    };
    expect(body.kind).toBe('Pod');
    expect(body.metadata.deletionGracePeriodSeconds).toBe(20);
    expect(Date.parse(body.metadata.deletionTimestamp) - Date.now()).toBeGreaterThan(15_000);
    // a longer grace changes nothing; a shorter one moves the deadline
    const longer = await wire.call('DELETE', `${ns}/pods/wire-a?gracePeriodSeconds=60`);
    expect((longer.json as typeof body).metadata.deletionGracePeriodSeconds).toBe(20);
    const shorter = await wire.call('DELETE', `${ns}/pods/wire-a?gracePeriodSeconds=5`);
    expect((shorter.json as typeof body).metadata.deletionGracePeriodSeconds).toBe(5);
    expect((await wire.get(`${ns}/pods/wire-a`)).status).toBe(200);
    kubelet.remove('default', 'wire-a');
    await watch.waitFor(4);
    watch.stop();
    expect(
      watch.events.map(
        (e) =>
          `${e.type} ${(e.object.metadata as { deletionGracePeriodSeconds?: number }).deletionGracePeriodSeconds}`,
      ),
    ).toEqual(['MODIFIED 20', 'MODIFIED 5', 'MODIFIED 0', 'DELETED 0']);
    expect((await wire.get(`${ns}/pods/wire-a`)).status).toBe(404);

    const secret = await wire.call('POST', `${ns}/secrets`, {
      metadata: { name: 'wire-s' },
      data: { k: 'dg==' },
    });
    const uid = (secret.json as { metadata: { uid: string } }).metadata.uid;
    const wrongUid = await wire.call('DELETE', `${ns}/secrets/wire-s`, { preconditions: { uid: 'other' } });
    expect(wrongUid.json).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message: `Operation cannot be fulfilled on Secret "wire-s": the UID in the precondition (other) does not match the UID in record (${uid}). The object might have been deleted and then recreated`,
    });
    const deleted = await wire.call('DELETE', `${ns}/secrets/wire-s`);
    expect(deleted.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'wire-s', kind: 'secrets', uid },
    });
    expect((await wire.call('DELETE', `${ns}/secrets/wire-s`)).json).toMatchObject({
      code: 404,
      message: 'secrets "wire-s" not found',
    });
  });

  it('collects dependents: Background after the owner is gone, Orphan keeps them, dangling owners', async () => {
    const owner = (await wire.call('POST', `${ns}/pods`, podBody('owner'))).json as {
      metadata: { uid: string };
    };
    const ref = { apiVersion: 'v1', kind: 'Pod', name: 'owner', uid: owner.metadata.uid };
    await wire.call('POST', `${ns}/secrets`, { metadata: { name: 'owned', ownerReferences: [ref] } });
    await wire.call('POST', `${ns}/configmaps`, {
      metadata: {
        name: 'dangling',
        ownerReferences: [{ ...ref, uid: '00000000-0000-4000-8000-000000000000' }],
      },
    });
    await wire.call('DELETE', `${ns}/pods/owner`);
    await cluster.sim.api.gc.whenIdle();
    expect((await wire.get(`${ns}/secrets/owned`)).status).toBe(404);
    expect((await wire.get(`${ns}/configmaps/dangling`)).status).toBe(404);

    const orphanOwner = (await wire.call('POST', `${ns}/pods`, podBody('orphan-owner'))).json as {
      metadata: { uid: string };
    };
    await wire.call('POST', `${ns}/secrets`, {
      metadata: {
        name: 'kept',
        ownerReferences: [{ ...ref, name: 'orphan-owner', uid: orphanOwner.metadata.uid }],
      },
    });
    await wire.call('DELETE', `${ns}/pods/orphan-owner`, { propagationPolicy: 'Orphan' });
    const kept = await wire.get(`${ns}/secrets/kept`);
    expect(kept.status).toBe(200);
    expect((kept.json as { metadata: Record<string, unknown> }).metadata).not.toHaveProperty(
      'ownerReferences',
    );
  });
});

describe('events, leases, namespaces', () => {
  it('records kubelet events folded by count and selects them by involvedObject fields', async () => {
    await wire.call('POST', `${ns}/pods`, podBody('evented'));
    kubelet.event('default', 'evented', 'BackOff', 'Back-off pulling image "x"', 'spec.containers{build}');
    kubelet.event('default', 'evented', 'BackOff', 'Back-off pulling image "x"', 'spec.containers{build}');
    const pod = kubelet.pod('default', 'evented');
    const selector = `involvedObject.kind=Pod,involvedObject.name=evented,involvedObject.namespace=default,involvedObject.uid=${pod.metadata?.uid}`;
    const list = (await wire.get(`${ns}/events?fieldSelector=${encodeURIComponent(selector)}`)).json as {
      items: Record<string, unknown>[];
    };
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({
      metadata: { name: expect.stringMatching(/^evented\.[0-9a-f]+$/), namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'evented', fieldPath: 'spec.containers{build}', apiVersion: 'v1' },
      reason: 'BackOff',
      count: 2,
      type: 'Normal',
      source: { component: 'kubelet', host: 'podrunner-sim' },
      eventTime: null,
      reportingComponent: 'kubelet',
    });
    expect((await wire.get(`${ns}/events?fieldSelector=reason%3DPulled`)).json).toMatchObject({ items: [] });
  });

  it('serves coordination.k8s.io/v1 leases with optimistic concurrency', async () => {
    const base = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
    const lease = await wire.call('POST', base, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'podrunner' },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: '2025-03-01T10:00:00.123Z' },
    });
    expect(lease.status).toBe(201);
    expect(lease.json).toMatchObject({
      kind: 'Lease',
      apiVersion: 'coordination.k8s.io/v1',
      spec: { holderIdentity: 'a', renewTime: '2025-03-01T10:00:00.123000Z' },
    });
    const current = lease.json as { metadata: { resourceVersion: string } };
    expect(
      (await wire.call('PUT', `${base}/podrunner`, { ...current, spec: { holderIdentity: 'b' } })).status,
    ).toBe(200);
    expect(
      (await wire.call('PUT', `${base}/podrunner`, { ...current, spec: { holderIdentity: 'c' } })).json,
    ).toMatchObject({
      code: 409,
      message:
        'Operation cannot be fulfilled on leases.coordination.k8s.io "podrunner": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: 'podrunner', group: 'coordination.k8s.io', kind: 'leases' },
    });
    expect((await wire.get(`${base}/missing`)).json).toMatchObject({
      code: 404,
      message: 'leases.coordination.k8s.io "missing" not found',
    });
  });

  it('terminates a namespace: no new content, gone once its pods are', async () => {
    await wire.call('POST', '/api/v1/namespaces', { metadata: { name: 'temp' } });
    await wire.call('POST', '/api/v1/namespaces/temp/pods', podBody('p'));
    kubelet.bind('temp', 'p');
    const deleting = await wire.call('DELETE', '/api/v1/namespaces/temp');
    expect(deleting.json).toMatchObject({ kind: 'Namespace', status: { phase: 'Terminating' } });
    const refused = await wire.call('POST', '/api/v1/namespaces/temp/configmaps', {
      metadata: { name: 'late' },
    });
    expect(refused.json).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message:
        'configmaps "late" is forbidden: unable to create new content in namespace temp because it is being terminated',
    });
    expect((await wire.get('/api/v1/namespaces/temp')).status).toBe(200);
    expect(kubelet.pod('temp', 'p').metadata?.deletionTimestamp).toBeTruthy();
    kubelet.remove('temp', 'p');
    expect((await wire.get('/api/v1/namespaces/temp')).status).toBe(404);
    expect((await wire.call('DELETE', '/api/v1/namespaces/default')).json).toMatchObject({
      code: 403,
      message: 'namespaces "default" is forbidden: this namespace may not be deleted',
    });
  });

  it('binds through pods/binding and evicts through pods/eviction', async () => {
    await wire.call('POST', `${ns}/pods`, podBody('bound'));
    const binding = await wire.call('POST', `${ns}/pods/bound/binding`, {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'bound' },
      target: { apiVersion: 'v1', kind: 'Node', name: 'podrunner-sim' },
    });
    expect(binding.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      code: 201,
    });
    const again = await wire.call('POST', `${ns}/pods/bound/binding`, { target: { name: 'other' } });
    expect(again.json).toMatchObject({
      code: 409,
      message:
        'Operation cannot be fulfilled on pods/binding "bound": pod bound is already assigned to node "podrunner-sim"',
    });
    kubelet.status('default', 'bound', {
      phase: 'Running',
      containerStatuses: [running('build', true)],
      conditions: [condition('Ready', 'True')],
    });
    const evicted = await wire.call('POST', `${ns}/pods/bound/eviction`, {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'bound' },
    });
    expect(evicted.json).toMatchObject({ status: 'Success', code: 201 });
    const pod = (await wire.get(`${ns}/pods/bound`)).json as {
      metadata: { deletionTimestamp?: string };
      status: { conditions: Record<string, unknown>[] };
    };
    expect(pod.metadata.deletionTimestamp).toBeTruthy();
    expect(pod.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'DisruptionTarget',
        status: 'True',
        reason: 'EvictionByEvictionAPI',
        message: 'Eviction API: evicting',
      }),
    );
  });
});

describe('more request forms', () => {
  it('serves the previous instance of a restarted container', async () => {
    await wire.call('POST', `${ns}/pods`, podBody('restarted'));
    kubelet.bind('default', 'restarted');
    const first = kubelet.log('default', 'restarted', 'build');
    first.write('stdout', Buffer.from('first run\n'), new Date());
    first.close();
    const crashed = terminated('build', 1, 'Error');
    kubelet.status('default', 'restarted', {
      phase: 'Running',
      containerStatuses: [
        {
          ...waiting('build', 'CrashLoopBackOff'),
          restartCount: 1,
          lastState: { terminated: crashed.state!.terminated! },
        },
      ],
    });
    const get = (query: string) => wire.get(`${ns}/pods/restarted/log?container=build${query}`);
    // waiting in back-off: the logs of the last terminated instance
    expect((await get('')).text).toBe('first run\n');
    const second = kubelet.log('default', 'restarted', 'build');
    second.write('stdout', Buffer.from('second run\n'), new Date());
    kubelet.status('default', 'restarted', {
      phase: 'Running',
      containerStatuses: [
        { ...running('build', true), restartCount: 1, lastState: { terminated: crashed.state!.terminated! } },
      ],
    });
    expect((await get('')).text).toBe('second run\n');
    expect((await get('&previous=true')).text).toBe('first run\n');
  });

  it('answers YAML, PartialObjectMetadataList, the legacy /watch/ path and deletecollection', async () => {
    await wire.call('POST', `${ns}/configmaps`, { metadata: { name: 'multi-1', labels: { batch: 'b' } } });
    await wire.call('POST', `${ns}/configmaps`, { metadata: { name: 'multi-2', labels: { batch: 'b' } } });
    const yaml = await wire.get(`${ns}/configmaps/multi-1`, { accept: 'application/yaml' });
    expect(yaml.headers['content-type']).toBe('application/yaml');
    expect(yaml.text).toMatch(/^kind: ConfigMap\napiVersion: v1\nmetadata:\n {2}name: multi-1\n/);
    const partial = (
      await wire.get(`${ns}/configmaps?labelSelector=batch%3Db`, {
        accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
      })
    ).json;
    expect(partial).toMatchObject({
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      items: [
        { kind: 'PartialObjectMetadata', metadata: { name: 'multi-1' } },
        { kind: 'PartialObjectMetadata', metadata: { name: 'multi-2' } },
      ],
    });
    expect(
      (await wire.get(`${ns}/configmaps`, { accept: 'application/vnd.kubernetes.protobuf' })).json,
    ).toMatchObject({ code: 406, reason: 'NotAcceptable' });
    const legacy = await wire.watch(`/api/v1/watch/namespaces/default/configmaps/multi-1?timeoutSeconds=1`);
    await legacy.ended;
    expect(legacy.events.map((e) => `${e.type} ${(e.object.metadata as { name: string }).name}`)).toEqual([
      'ADDED multi-1',
    ]);
    const deleted = await wire.call('DELETE', `${ns}/configmaps?labelSelector=batch%3Db`);
    expect(deleted.json).toMatchObject({
      kind: 'ConfigMapList',
      items: [{ metadata: { name: 'multi-1' } }, { metadata: { name: 'multi-2' } }],
    });
    expect((await wire.get(`${ns}/configmaps?labelSelector=batch%3Db`)).json).toMatchObject({ items: [] });
  });
});
