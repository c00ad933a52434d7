// Response bodies assembled from the entries' cached JSON: lists, Tables, PartialObjectMetadata.
import { printerFor } from './printers/index.ts';
import type { PrintedRow } from './printers/table.ts';
import type { ResourceDef } from './resources.ts';
import { badRequest } from './status.ts';
import type { Entry } from './store.ts';
import type { KubeObject } from './types.ts';

export type IncludeObject = 'Metadata' | 'Object' | 'None';

export function includeObjectOf(value: string | null): IncludeObject {
  if (value === null || value === '' || value === 'Metadata') return 'Metadata';
  if (value === 'Object' || value === 'None') return value;
  throw badRequest(`Unable to convert to Table as requested: unrecognized includeObject value: "${value}"`);
}

export function listJson(def: ResourceDef, items: readonly Entry[], rv: number): string {
  const parts = items.map((e) => e.itemJson);
  return `{"kind":"${def.kind}List","apiVersion":"${def.apiVersion}","metadata":{"resourceVersion":"${rv}"},"items":[${parts.join(',')}]}`;
}

/** A list of objects that are not stored entries (deletecollection, dryRun). */
export function objectListJson(def: ResourceDef, items: KubeObject[], rv: number): string {
  return JSON.stringify({
    kind: `${def.kind}List`,
    apiVersion: def.apiVersion,
    metadata: { resourceVersion: String(rv) },
    items,
  });
}

export function objectJson(def: ResourceDef, obj: KubeObject): string {
  return JSON.stringify({ kind: def.kind, apiVersion: def.apiVersion, ...obj });
}

function partialJson(obj: KubeObject, version: string): string {
  return `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/${version}","metadata":${JSON.stringify(obj.metadata)}}`;
}

export function partialListJson(items: readonly Entry[], rv: number, version: string): string {
  return `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/${version}","metadata":{"resourceVersion":"${rv}"},"items":[${items
    .map((e) => partialJson(e.obj, version))
    .join(',')}]}`;
}

export function partialObjectJson(obj: KubeObject, version: string): string {
  return partialJson(obj, version);
}

export interface TableRequest {
  version: 'v1' | 'v1beta1';
  includeObject: IncludeObject;
  withColumns: boolean;
}

function rowJson(
  def: ResourceDef,
  obj: KubeObject,
  fullJson: string | undefined,
  row: PrintedRow,
  request: TableRequest,
): string {
  let out = `{"cells":${JSON.stringify(row.cells)}`;
  if (row.conditions) out += `,"conditions":${JSON.stringify(row.conditions)}`;
  if (request.includeObject === 'Metadata') out += `,"object":${partialJson(obj, request.version)}`;
  else if (request.includeObject === 'Object') out += `,"object":${fullJson ?? objectJson(def, obj)}`;
  return `${out}}`;
}

/** A Table of `objects` (`fullJson` of each when it is known). */
export function tableJson(
  def: ResourceDef,
  objects: readonly { obj: KubeObject; fullJson?: string }[],
  rv: number | undefined,
  request: TableRequest,
  now: number,
): string {
  const printer = printerFor(def.resource);
  const rows = objects.map(({ obj, fullJson }) =>
    rowJson(def, obj, fullJson, printer.row(obj, now), request),
  );
  const metadata = rv === undefined ? '{}' : `{"resourceVersion":"${rv}"}`;
  const columns = request.withColumns ? JSON.stringify(printer.columns) : 'null';
  return `{"kind":"Table","apiVersion":"meta.k8s.io/${request.version}","metadata":${metadata},"columnDefinitions":${columns},"rows":[${rows.join(',')}]}`;
}
