// Requests for resources: the verb from the method and path, query parameters and bodies validated,
// the registry called, and the answer encoded in the representation the client asked for.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { fieldValidationOf, parseBody } from './decode.ts';
import type { FaultInjector, Verb } from './faults.ts';
import { negotiate, type Representation } from './http/negotiate.ts';
import { readBody, sendJson, sendStatus } from './http/respond.ts';
import type { Route } from './http/route.ts';
import type { OpenStreams } from './http/streams.ts';
import { parseBool, serveLogs } from './log-endpoint.ts';
import type { LogStore } from './logs.ts';
import { patchTypeOf } from './patch.ts';
import { bindPod, evictPod } from './pod-actions.ts';
import type { DeleteOptions, PropagationPolicy, Registry, WriteOptions, WriteResult } from './registry.ts';
import {
  includeObjectOf,
  listJson,
  objectJson,
  objectListJson,
  partialListJson,
  partialObjectJson,
  tableJson,
} from './render.ts';
import type { ResourceDef } from './resources.ts';
import {
  ApiError,
  badRequest,
  createdStatus,
  invalid,
  methodNotAllowed,
  unsupportedField,
} from './status.ts';
import type { Entry } from './store.ts';
import type { KubeObject } from './types.ts';
import { serveWatch, type WatchSettings } from './watch.ts';

export interface HandlerContext {
  registry: Registry;
  logs: LogStore;
  faults: FaultInjector;
  watch: WatchSettings;
  streams: OpenStreams;
}

type ResourceRoute = Extract<Route, { kind: 'resource' }>;

export function verbOf(method: string, route: ResourceRoute, query: URLSearchParams): Verb | undefined {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (route.watchPath || parseBool(query.get('watch')))
        return route.subresource === undefined ? 'watch' : 'get';
      return route.name !== undefined ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return route.name !== undefined ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

interface Encoding {
  pretty: boolean;
}

function writeOptions(query: URLSearchParams): WriteOptions {
  return {
    dryRun: dryRunOf(query.getAll('dryRun')),
    fieldValidation: fieldValidationOf(query.get('fieldValidation')),
  };
}

function dryRunOf(values: string[]): boolean {
  const flat = values.flatMap((v) => v.split(',')).filter((v) => v !== '');
  for (const v of flat) {
    if (v !== 'All')
      throw invalid('CreateOptions', '', [unsupportedField('dryRun', v, ['All'])], 'meta.k8s.io');
  }
  return flat.length > 0;
}

function warningHeaders(res: ServerResponse, warnings: string[]): void {
  if (warnings.length > 0)
    res.setHeader(
      'Warning',
      warnings.map((w) => `299 - ${JSON.stringify(w)}`),
    );
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!/^-?\d+$/.test(value))
    throw badRequest(`${name}: strconv.ParseInt: parsing "${value}": invalid syntax`);
  return Number(value);
}

const deleteOptionsSchema = z.looseObject({
  gracePeriodSeconds: z.number().int().nullish(),
  propagationPolicy: z.string().nullish(),
  orphanDependents: z.boolean().nullish(),
  preconditions: z
    .looseObject({ uid: z.string().nullish(), resourceVersion: z.string().nullish() })
    .nullish(),
  dryRun: z.array(z.string()).nullish(),
});

async function deleteOptionsOf(req: IncomingMessage, query: URLSearchParams): Promise<DeleteOptions> {
  let policy = query.get('propagationPolicy') ?? undefined;
  let grace = intParam(query, 'gracePeriodSeconds');
  let orphan = query.has('orphanDependents') ? parseBool(query.get('orphanDependents')) : undefined;
  let dryRun = dryRunOf(query.getAll('dryRun'));
  let preconditions: DeleteOptions['preconditions'];
  const raw = await readBody(req);
  if (raw.length > 0) {
    const parsed = deleteOptionsSchema.safeParse(
      parseBody(raw, req.headers['content-type'], 'DeleteOptions'),
    );
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badRequest(
        `json: cannot unmarshal into Go struct field DeleteOptions.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
      );
    }
    const body = parsed.data;
    if (body.gracePeriodSeconds != null) grace = body.gracePeriodSeconds;
    if (body.propagationPolicy != null) policy = body.propagationPolicy;
    if (body.orphanDependents != null) orphan = body.orphanDependents;
    if (body.dryRun != null) dryRun = dryRunOf(body.dryRun);
    if (body.preconditions != null) {
      preconditions = {
        uid: body.preconditions.uid ?? undefined,
        resourceVersion: body.preconditions.resourceVersion ?? undefined,
      };
    }
  }
  if (orphan !== undefined && policy !== undefined) {
    throw invalid(
      'DeleteOptions',
      '',
      [
        {
          type: 'FieldValueInvalid',
          field: 'propagationPolicy',
          detail: `Invalid value: "${policy}": orphanDependents and deletionPropagation cannot be both set`,
        },
      ],
      'meta.k8s.io',
    );
  }
  if (orphan !== undefined) policy = orphan ? 'Orphan' : 'Background';
  return {
    gracePeriodSeconds: grace,
    propagationPolicy: policy as PropagationPolicy | undefined,
    preconditions,
    dryRun,
  };
}

function sendObject(
  res: ServerResponse,
  def: ResourceDef,
  code: number,
  obj: KubeObject,
  entry: Entry | undefined,
  representation: Representation,
  ctx: HandlerContext,
  encoding: Encoding,
): void {
  if (representation.kind === 'table') {
    sendJson(
      res,
      code,
      tableJson(
        def,
        [{ obj, ...(entry ? { fullJson: entry.fullJson } : {}) }],
        undefined,
        { version: representation.version, includeObject: 'Metadata', withColumns: true },
        ctx.registry.now(),
      ),
      encoding,
    );
    return;
  }
  if (representation.kind === 'partial') {
    sendJson(res, code, partialObjectJson(obj, representation.version), encoding);
    return;
  }
  sendJson(res, code, entry ? entry.fullJson : objectJson(def, obj), {
    ...encoding,
    yaml: representation.kind === 'yaml',
  });
}

export async function handleResource(
  ctx: HandlerContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: ResourceRoute,
  verb: Verb,
  query: URLSearchParams,
  encoding: Encoding,
): Promise<void> {
  const { registry } = ctx;
  const { def, namespace, name, subresource } = route;
  const supported = (v: string) => def.verbs.includes(v);

  if (route.watchPath && req.method !== 'GET') throw methodNotAllowed();

  switch (verb) {
    case 'get': {
      if (subresource === 'log' && def.resource === 'pods') {
        serveLogs(registry, ctx.logs, ctx.faults, ctx.streams, res, namespace, name!, query);
        return;
      }
      if (subresource !== undefined && subresource !== 'status') throw methodNotAllowed();
      const entry = registry.get(def, namespace, name!);
      const representation = negotiate(req.headers.accept, false);
      if (representation.kind === 'table') {
        const includeObject = includeObjectOf(query.get('includeObject'));
        sendJson(
          res,
          200,
          tableJson(
            def,
            [entry],
            entry.rv,
            { version: representation.version, includeObject, withColumns: true },
            registry.now(),
          ),
          encoding,
        );
        return;
      }
      sendObject(res, def, 200, entry.obj, entry, representation, ctx, encoding);
      return;
    }
    case 'list':
    case 'watch': {
      if (!supported(verb)) throw methodNotAllowed();
      const selection = registry.selection(
        def,
        query.get('labelSelector') ?? undefined,
        withNameSelector(query.get('fieldSelector'), route),
      );
      const rvText = query.get('resourceVersion') ?? '';
      const rvMatch = query.get('resourceVersionMatch') ?? '';
      if (rvMatch !== '' && rvText === '') {
        throw invalid(
          'ListOptions',
          '',
          [
            {
              type: 'FieldValueForbidden',
              field: 'resourceVersionMatch',
              detail: 'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
            },
          ],
          'meta.k8s.io',
        );
      }
      if (rvText !== '' && !/^\d+$/.test(rvText))
        throw badRequest(`resourceVersion: Invalid value: "${rvText}": must be a non-negative integer`);
      const rv = rvText === '' ? undefined : Number(rvText);
      const representation = negotiate(req.headers.accept, verb === 'list');
      const includeObject =
        representation.kind === 'table' ? includeObjectOf(query.get('includeObject')) : 'Metadata';
      if (verb === 'watch') {
        const sendInitialEvents = parseBool(query.get('sendInitialEvents'));
        serveWatch(registry, ctx.faults, ctx.watch, ctx.streams, res, {
          def,
          namespace,
          selection,
          sinceRv: sendInitialEvents || rv === undefined || rv === 0 ? undefined : rv,
          timeoutSeconds: intParam(query, 'timeoutSeconds'),
          allowBookmarks: parseBool(query.get('allowWatchBookmarks')) || sendInitialEvents,
          sendInitialEvents,
          representation,
          includeObject,
        });
        return;
      }
      if (rv !== undefined && rv > registry.store.currentRv()) {
        await new Promise((r) => setTimeout(r, 3000));
        if (rv > registry.store.currentRv()) {
          throw new ApiError(
            504,
            'Timeout',
            `Too large resource version: ${rv}, current: ${registry.store.currentRv()}`,
            {
              causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
              retryAfterSeconds: 1,
            },
          );
        }
      }
      const { items, rv: listRv } = registry.list(def, namespace, selection);
      if (representation.kind === 'table') {
        sendJson(
          res,
          200,
          tableJson(
            def,
            items,
            listRv,
            { version: representation.version, includeObject, withColumns: true },
            registry.now(),
          ),
          encoding,
        );
      } else if (representation.kind === 'partial') {
        sendJson(res, 200, partialListJson(items, listRv, representation.version), encoding);
      } else {
        sendJson(res, 200, listJson(def, items, listRv), {
          ...encoding,
          yaml: representation.kind === 'yaml',
        });
      }
      return;
    }
    case 'create': {
      if (def.readOnly) throw methodNotAllowed();
      if (subresource === 'binding' || subresource === 'eviction') {
        const body = parseBody(
          await readBody(req),
          req.headers['content-type'],
          subresource === 'binding' ? 'Binding' : 'Eviction',
        );
        if (subresource === 'binding') {
          const target = z
            .looseObject({ target: z.looseObject({ name: z.string().min(1) }) })
            .safeParse(body);
          if (!target.success)
            throw invalid('Binding', name!, [
              { type: 'FieldValueRequired', field: 'target.name', detail: 'Required value' },
            ]);
          if (!writeOptions(query).dryRun)
            bindPod(registry, namespace, name!, undefined, target.data.target.name);
          sendStatus(res, createdStatus(), 201, encoding);
          return;
        }
        const eviction = z.looseObject({ deleteOptions: deleteOptionsSchema.nullish() }).safeParse(body);
        const opts = eviction.success ? eviction.data.deleteOptions : undefined;
        sendStatus(
          res,
          evictPod(registry, namespace, name!, {
            gracePeriodSeconds: opts?.gracePeriodSeconds ?? undefined,
            dryRun: (opts?.dryRun?.length ?? 0) > 0,
            ...(opts?.preconditions
              ? {
                  preconditions: {
                    uid: opts.preconditions.uid ?? undefined,
                    resourceVersion: opts.preconditions.resourceVersion ?? undefined,
                  },
                }
              : {}),
          }),
          201,
          encoding,
        );
        return;
      }
      if (name !== undefined || (def.namespaced && namespace === '')) throw methodNotAllowed();
      const options = writeOptions(query);
      const body = parseBody(await readBody(req), req.headers['content-type'], def.kind);
      const result = registry.create(def, namespace, body, options);
      warningHeaders(res, result.warnings);
      sendObject(
        res,
        def,
        201,
        result.object,
        result.entry,
        negotiate(req.headers.accept, false),
        ctx,
        encoding,
      );
      return;
    }
    case 'update':
    case 'patch': {
      if (def.readOnly) throw methodNotAllowed();
      if (name === undefined) throw methodNotAllowed();
      if (subresource !== undefined && subresource !== 'status') throw methodNotAllowed();
      const options = writeOptions(query);
      const raw = await readBody(req);
      let result: WriteResult;
      if (verb === 'update') {
        const body = parseBody(raw, req.headers['content-type'], def.kind);
        result = registry.update(
          def,
          namespace,
          name,
          body,
          options,
          subresource === 'status' ? 'status' : undefined,
        );
      } else {
        const type = patchTypeOf(req.headers['content-type']);
        const body = parseBody(raw, 'application/json', def.kind);
        result = registry.patch(
          def,
          namespace,
          name,
          type,
          body,
          options,
          subresource === 'status' ? 'status' : undefined,
        );
      }
      warningHeaders(res, result.warnings);
      sendObject(
        res,
        def,
        200,
        result.object,
        result.entry,
        negotiate(req.headers.accept, false),
        ctx,
        encoding,
      );
      return;
    }
    case 'delete': {
      if (subresource !== undefined) throw methodNotAllowed();
      const options = await deleteOptionsOf(req, query);
      const result = registry.delete(def, namespace, name!, options);
      if (result.kind === 'status') sendStatus(res, result.status, 200, encoding);
      else
        sendObject(
          res,
          def,
          200,
          result.object,
          result.entry,
          negotiate(req.headers.accept, false),
          ctx,
          encoding,
        );
      return;
    }
    case 'deletecollection': {
      if (!supported('deletecollection') || (def.namespaced && namespace === '')) throw methodNotAllowed();
      const options = await deleteOptionsOf(req, query);
      const selection = registry.selection(
        def,
        query.get('labelSelector') ?? undefined,
        query.get('fieldSelector') ?? undefined,
      );
      const deleted = registry.deleteCollection(def, namespace, selection, options);
      sendJson(res, 200, objectListJson(def, deleted, registry.store.currentRv()), encoding);
      return;
    }
  }
}

/** `/watch/…/NAME` and a GET of one object by watch: a `metadata.name` field selector. */
function withNameSelector(fieldSelector: string | null, route: ResourceRoute): string | undefined {
  if (route.name === undefined) return fieldSelector ?? undefined;
  const byName = `metadata.name=${route.name}`;
  return fieldSelector ? `${fieldSelector},${byName}` : byName;
}
