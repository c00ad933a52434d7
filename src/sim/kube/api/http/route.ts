// Splits a request path into what it addresses: a discovery document, a resource (collection, object,
// subresource, in a namespace or not), or nothing (a Status 404 under a served group version, Go's
// plain-text 404 elsewhere).
import { findResource, groupVersions, type ResourceDef } from '../resources.ts';

export type Route =
  | {
      kind: 'resource';
      def: ResourceDef;
      namespace: string;
      name: string | undefined;
      subresource: string | undefined;
      watchPath: boolean;
    }
  | { kind: 'groupVersion'; group: string; version: string }
  | { kind: 'notFoundStatus' }
  | { kind: 'notFoundPlain' };

export function parseRoute(pathname: string): Route {
  for (const gv of groupVersions) {
    if (pathname !== gv.prefix && !pathname.startsWith(`${gv.prefix}/`)) continue;
    const rest = pathname
      .slice(gv.prefix.length)
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    if (rest.length === 0) return { kind: 'groupVersion', group: gv.group, version: gv.version };
    return resourceRoute(gv.group, gv.version, rest);
  }
  return { kind: 'notFoundPlain' };
}

function resourceRoute(group: string, version: string, parts: string[]): Route {
  let watchPath = false;
  if (parts[0] === 'watch') {
    watchPath = true;
    parts = parts.slice(1);
  }
  const namespacesDef = findResource('', 'v1', 'namespaces')!;
  if (parts[0] === 'namespaces' && parts.length >= 3 && parts[2] !== 'status' && parts[2] !== 'finalize') {
    const namespace = parts[1]!;
    const def = findResource(group, version, parts[2]!);
    if (!def?.namespaced || parts.length > 5) return { kind: 'notFoundStatus' };
    const subresource = parts[4];
    if (subresource !== undefined && !def.subresources.some((s) => s.name === subresource))
      return { kind: 'notFoundStatus' };
    return { kind: 'resource', def, namespace, name: parts[3], subresource, watchPath };
  }
  if (parts[0] === 'namespaces' && group !== '') return { kind: 'notFoundStatus' };
  const def = parts[0] === 'namespaces' ? namespacesDef : findResource(group, version, parts[0]!);
  if (!def || parts.length > 3) return { kind: 'notFoundStatus' };
  if (def.namespaced && parts.length > 1) return { kind: 'notFoundStatus' };
  const subresource = parts[2];
  if (subresource !== undefined && !def.subresources.some((s) => s.name === subresource))
    return { kind: 'notFoundStatus' };
  return { kind: 'resource', def, namespace: '', name: parts[1], subresource, watchPath };
}
