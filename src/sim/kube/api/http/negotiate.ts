// Content negotiation on `Accept`: plain JSON (or YAML), a meta.k8s.io Table, or PartialObjectMetadata.
import { ApiError } from '../status.ts';

export type Representation =
  | { kind: 'json' }
  | { kind: 'yaml' }
  | { kind: 'table'; version: 'v1' | 'v1beta1' }
  | { kind: 'partial'; version: 'v1' | 'v1beta1' };

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(header: string): MediaRange[] {
  return header
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const [type, ...params] = part.split(';').map((p) => p.trim());
      const out: Record<string, string> = {};
      for (const p of params) {
        const eq = p.indexOf('=');
        if (eq > 0) out[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
      }
      return { type: (type ?? '').toLowerCase(), params: out };
    });
}

/** Picks the first representation in `Accept` the server can give; 406 when none fits. */
export function negotiate(accept: string | undefined, list: boolean): Representation {
  if (!accept || accept.trim() === '') return { kind: 'json' };
  for (const range of parseAccept(accept)) {
    const { type, params } = range;
    const jsonLike = type === 'application/json' || type === '*/*' || type === 'application/*';
    if (type === 'application/yaml' && !params.as) return { kind: 'yaml' };
    if (!jsonLike) continue;
    if (!params.as) return { kind: 'json' };
    if (params.g !== 'meta.k8s.io') continue;
    const version = params.v === 'v1beta1' ? 'v1beta1' : params.v === 'v1' ? 'v1' : undefined;
    if (!version) continue;
    if (params.as === 'Table') return { kind: 'table', version };
    if (params.as === (list ? 'PartialObjectMetadataList' : 'PartialObjectMetadata'))
      return { kind: 'partial', version };
  }
  throw new ApiError(
    406,
    'NotAcceptable',
    'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf',
  );
}
