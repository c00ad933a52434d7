// One Kubernetes API request's URL: the server's base, the path, and the query values that are set.
export type HttpVerb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type QueryValues = Record<string, string | number | boolean | undefined>;

export function requestUrl(base: string, path: string, query: QueryValues = {}): URL {
  const url = new URL(base + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}
