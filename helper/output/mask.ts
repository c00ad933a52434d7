// Keeps secrets out of everything the helper prints: the job token, masked variables, credentials
// in URLs and the signature parameters of pre-signed URLs (upstream's urlsanitizer list).

const URL_SECRET_PARAMS = [
  'private_token',
  'authenticity_token',
  'rss_token',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
];

export const MASKED = '[MASKED]';

export class Masker {
  readonly #secrets: string[];

  constructor(secrets: Iterable<string>) {
    // Longest first, so a secret that contains another is replaced whole.
    this.#secrets = [...new Set([...secrets].filter((s) => s.length >= 4))].sort(
      (a, b) => b.length - a.length,
    );
  }

  mask(text: string): string {
    let out = text;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.replaceAll(secret, MASKED);
    out = out.replace(
      /(\b[a-z][a-z0-9+.-]*:\/\/)([^/\s:@]*):([^/\s@]*)@/gi,
      (_m, scheme: string, user: string) => (user === '' ? scheme : `${scheme}${user}:${MASKED}@`),
    );
    return out.replace(
      new RegExp(`([?&](?:${URL_SECRET_PARAMS.join('|')})=)[^&\\s"']*`, 'gi'),
      (_m, prefix: string) => `${prefix}${MASKED}`,
    );
  }
}

/** A URL fit for a log line: no credentials, no query (upstream's `url_helpers.CleanURL`). */
export function cleanUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    return '<invalid URL>';
  }
}
