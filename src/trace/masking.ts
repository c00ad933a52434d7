// Masking of one output stream, in gitlab-runner's order (buildlogger.wrap): masked variable values,
// then sensitive URL parameters, then token prefixes (gitlab-runner-api.md §4.5). Each filter works
// across arbitrary write boundaries and holds back only bytes that may still become a match: the
// longest tail that is a proper prefix of a phrase (or token prefix). Searching uses Buffer#indexOf
// (native) per phrase; no regular expressions, no rescans of data already passed on.
//
// Between filters data travels as pieces: byte runs and MASK, an already-masked span that later
// filters pass through untouched (so `[MASKED]` itself is never re-masked) and that no phrase spans.
import { ownedBytes } from './owned-bytes.ts';

export const MASKED_TEXT = '[MASKED]';
const MASKED_BYTES = Buffer.from(MASKED_TEXT);

export const MASK: unique symbol = Symbol('masked');
export type Piece = Buffer | typeof MASK;

interface Filter {
  /** Processes one byte run, appending pieces to `out`. */
  write(data: Buffer, out: Piece[]): void;
  /** A MASK follows: release or close whatever is pending before it. Returns false to swallow it. */
  beforeMask(out: Piece[]): boolean;
  /** End of stream. */
  end(out: Piece[]): void;
  /** Nothing held back and no match in progress. */
  idle(): boolean;
}

/** KMP failure table: fail[i] = length of the longest proper border of needle[0..i]. */
function failureTable(needle: Uint8Array): Int32Array {
  const fail = new Int32Array(needle.length);
  let k = 0;
  for (let i = 1; i < needle.length; i++) {
    while (k > 0 && needle[i] !== needle[k]) k = fail[k - 1]!;
    if (needle[i] === needle[k]) k++;
    fail[i] = k;
  }
  return fail;
}

/**
 * The length of the longest suffix of `buf[start..]` that is a proper prefix of `needle` — what a
 * filter must hold back because the next write may complete it.
 */
function partialSuffix(buf: Buffer, start: number, needle: Buffer, fail: Int32Array): number {
  const m = needle.length;
  if (m < 2) return 0;
  const from = Math.max(start, buf.length - (m - 1));
  const first = buf.indexOf(needle[0]!, from);
  if (first === -1) return 0;
  let q = 0;
  for (let i = first; i < buf.length; i++) {
    const c = buf[i]!;
    while (q > 0 && needle[q] !== c) q = fail[q - 1]!;
    if (needle[q] === c) q++;
  }
  return q;
}

function joinHeld(held: Buffer | null, data: Buffer): Buffer {
  return held ? Buffer.concat([held, data]) : data;
}

/** Replaces every occurrence of one phrase with MASK. */
class PhraseFilter implements Filter {
  private readonly phrase: Buffer;
  private readonly fail: Int32Array;
  private held: Buffer | null = null;

  constructor(phrase: Buffer) {
    this.phrase = phrase;
    this.fail = failureTable(phrase);
  }

  write(data: Buffer, out: Piece[]): void {
    const buf = joinHeld(this.held, data);
    this.held = null;
    const phrase = this.phrase;
    let pos = 0;
    for (;;) {
      const idx = buf.indexOf(phrase, pos);
      if (idx === -1) break;
      if (idx > pos) out.push(buf.subarray(pos, idx));
      out.push(MASK);
      pos = idx + phrase.length;
    }
    const keep = partialSuffix(buf, pos, phrase, this.fail);
    const end = buf.length - keep;
    if (end > pos) out.push(buf.subarray(pos, end));
    if (keep) this.held = Buffer.from(buf.subarray(end));
  }

  beforeMask(out: Piece[]): boolean {
    this.end(out);
    return true;
  }

  end(out: Piece[]): void {
    if (this.held) out.push(this.held);
    this.held = null;
  }

  idle(): boolean {
    return this.held === null;
  }
}

/** Byte → true for the token alphabet `[0-9A-Za-z_.=-]`. */
const TOKEN_ALPHABET = (() => {
  const t = new Uint8Array(256);
  for (const c of '-.=_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz')
    t[c.charCodeAt(0)] = 1;
  return t;
})();

/** `<prefix><alphabet…>` → `<prefix>[MASKED]`; the mask is emitted when the token ends. */
class TokenPrefixFilter implements Filter {
  private readonly prefix: Buffer;
  private readonly fail: Int32Array;
  private held: Buffer | null = null;
  /** Inside a token after its prefix; `masked` once at least one token byte was dropped. */
  private inToken = false;
  private masked = false;

  constructor(prefix: Buffer) {
    this.prefix = prefix;
    this.fail = failureTable(prefix);
  }

  write(data: Buffer, out: Piece[]): void {
    const buf = joinHeld(this.held, data);
    this.held = null;
    let pos = 0;
    if (this.inToken) {
      const end = this.skipToken(buf, 0);
      if (end === buf.length) return;
      this.closeToken(out);
      pos = end;
    }
    const prefix = this.prefix;
    for (;;) {
      const idx = buf.indexOf(prefix, pos);
      if (idx === -1) break;
      const tokenStart = idx + prefix.length;
      out.push(buf.subarray(pos, tokenStart));
      this.inToken = true;
      const end = this.skipToken(buf, tokenStart);
      if (end === buf.length) return;
      this.closeToken(out);
      pos = end;
    }
    const keep = partialSuffix(buf, pos, prefix, this.fail);
    const end = buf.length - keep;
    if (end > pos) out.push(buf.subarray(pos, end));
    if (keep) this.held = Buffer.from(buf.subarray(end));
  }

  private skipToken(buf: Buffer, from: number): number {
    let i = from;
    while (i < buf.length && TOKEN_ALPHABET[buf[i]!]) i++;
    if (i > from) this.masked = true;
    return i;
  }

  private closeToken(out: Piece[]): void {
    if (this.masked) out.push(MASK);
    this.inToken = false;
    this.masked = false;
  }

  beforeMask(out: Piece[]): boolean {
    this.end(out);
    return true;
  }

  end(out: Piece[]): void {
    if (this.inToken) this.closeToken(out);
    if (this.held) out.push(this.held);
    this.held = null;
  }

  idle(): boolean {
    return this.held === null && !this.inToken;
  }
}

/** URL parameters whose values are masked (urlsanitizer.go), compared lower-cased. */
export const SENSITIVE_URL_PARAMS: readonly string[] = [
  'private_token',
  'authenticity_token',
  'rss_token',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
];
const MAX_PARAM_KEY = Math.max(...SENSITIVE_URL_PARAMS.map((k) => k.length));
const QUESTION = 0x3f;
const AMPERSAND = 0x26;
const EQUALS = 0x3d;

/** Bytes that end a parameter value: `?`, `&`, ASCII whitespace and control characters. */
const ASCII_PARAM_END = (() => {
  const t = new Uint8Array(128);
  for (let c = 0; c < 0x20; c++) t[c] = 1;
  t[0x20] = 1;
  t[0x7f] = 1;
  t[QUESTION] = 1;
  t[AMPERSAND] = 1;
  return t;
})();

/** Unicode spaces and C1 controls (Go's unicode.IsSpace / IsControl) above U+007F. */
function isWideParamEnd(cp: number): boolean {
  return (
    (cp >= 0x80 && cp <= 0xa0) ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

/** Index of the first value-ending character at or after `from`, or -1. */
function findParamEnd(buf: Buffer, from: number): number {
  for (let i = from; i < buf.length; i++) {
    const b = buf[i]!;
    if (b < 0x80) {
      if (ASCII_PARAM_END[b]) return i;
      continue;
    }
    // Decode just enough UTF-8 to recognise the few wide space/control characters.
    if (b === 0xc2 && i + 1 < buf.length) {
      const cp = ((b & 0x1f) << 6) | (buf[i + 1]! & 0x3f);
      if (isWideParamEnd(cp)) return i;
    } else if ((b === 0xe1 || b === 0xe2 || b === 0xe3) && i + 2 < buf.length) {
      const cp = ((b & 0x0f) << 12) | ((buf[i + 1]! & 0x3f) << 6) | (buf[i + 2]! & 0x3f);
      if (isWideParamEnd(cp)) return i;
    }
  }
  return -1;
}

/** `?private_token=…&` → `?private_token=[MASKED]&`. Passes bytes on at once; only drops values. */
class UrlParamFilter implements Filter {
  private state: 'none' | 'key' | 'value' = 'none';
  private key = '';

  write(data: Buffer, out: Piece[]): void {
    let pos = 0; // first byte not yet passed on (or dropped)
    let i = 0;
    const n = data.length;
    // Next `?` and `&` at or after i, cached so runs of one separator do not rescan for the other.
    let nextQ = -2;
    let nextA = -2;
    while (i < n) {
      if (this.state === 'value') {
        const end = findParamEnd(data, i);
        if (end === -1) {
          pos = n;
          return;
        }
        out.push(MASK);
        this.state = 'none';
        pos = end;
        i = end;
      }
      if (this.state === 'none') {
        if (nextQ !== -1 && nextQ < i) nextQ = data.indexOf(QUESTION, i);
        if (nextA !== -1 && nextA < i) nextA = data.indexOf(AMPERSAND, i);
        const next = nextQ === -1 ? nextA : nextA === -1 ? nextQ : Math.min(nextQ, nextA);
        if (next === -1) break;
        this.state = 'key';
        this.key = '';
        i = next + 1;
        continue;
      }
      // state === 'key'
      const b = data[i]!;
      if (b === QUESTION || b === AMPERSAND) {
        this.key = '';
        i++;
        continue;
      }
      if (b === EQUALS) {
        i++;
        if (SENSITIVE_URL_PARAMS.includes(this.key.toLowerCase())) {
          if (i > pos) out.push(data.subarray(pos, i));
          pos = i;
          this.state = 'value';
        } else this.state = 'none';
        this.key = '';
        continue;
      }
      if (this.key.length >= MAX_PARAM_KEY) {
        this.state = 'none';
        this.key = '';
      } else this.key += String.fromCharCode(b);
      i++;
    }
    if (n > pos) out.push(data.subarray(pos, n));
  }

  beforeMask(): boolean {
    if (this.state === 'value') return false; // part of the value being masked
    this.state = 'none';
    this.key = '';
    return true;
  }

  end(out: Piece[]): void {
    if (this.state === 'value') out.push(MASK);
    this.state = 'none';
  }

  idle(): boolean {
    return this.state === 'none';
  }
}

/** Token prefixes masked by default (tokensanitizer.DefaultTokenPrefixes, R18.11). */
export const DEFAULT_TOKEN_PREFIXES: readonly string[] = ['glpat-'];
/** Added with FF_MASK_ALL_DEFAULT_TOKENS (default on). */
export const ALL_DEFAULT_TOKEN_PREFIXES: readonly string[] = [
  'gloas-',
  'gldt-',
  'glrt-',
  'glcbt-',
  'glrtr-',
  'glptt-',
  'glft-',
  'glimt-',
  'glagent-',
  'glsoat-',
  'glffct-',
  '_gitlab_session=',
  'gltok-',
];
/** At most this many token prefixes get a filter (R18.11; R17.0 had 10). */
export const MAX_TOKEN_PREFIXES = 15;

/** Trims, drops empties, sorts shortest first (ties by byte order) and de-duplicates (internal.Unique). */
export function uniqueShortestFirst(values: readonly string[]): string[] {
  const trimmed = values.map((v) => v.trim()).filter((v) => v !== '');
  const byLength = (a: string, b: string) => {
    const la = Buffer.byteLength(a);
    const lb = Buffer.byteLength(b);
    if (la !== lb) return la - lb;
    return Buffer.compare(Buffer.from(a), Buffer.from(b));
  };
  return [...new Set(trimmed)].sort(byLength);
}

/**
 * The token prefixes that get a filter: the job's `token_mask_prefixes` merged with the defaults,
 * trimmed, de-duplicated, sorted shortest first and cut at 15 — so with all 14 defaults a job's
 * longer prefixes are dropped, or push out the longest defaults (`_gitlab_session=` first).
 */
export function effectiveTokenPrefixes(
  jobPrefixes: readonly string[],
  maskAllDefaultTokens: boolean,
): string[] {
  const defaults = maskAllDefaultTokens
    ? [...DEFAULT_TOKEN_PREFIXES, ...ALL_DEFAULT_TOKEN_PREFIXES]
    : [...DEFAULT_TOKEN_PREFIXES];
  return uniqueShortestFirst([...jobPrefixes, ...defaults]).slice(0, MAX_TOKEN_PREFIXES);
}

export interface MaskingOptions {
  /** Values of masked variables (expanded); trimmed and de-duplicated here. */
  phrases?: readonly string[];
  /** The job's `features.token_mask_prefixes`. */
  tokenPrefixes?: readonly string[];
  /** FF_MASK_ALL_DEFAULT_TOKENS (default true). */
  maskAllDefaultTokens?: boolean;
}

/**
 * Precomputed once per job and shared by its streams: phrases and prefixes in the order their
 * filters run (longest first), and the prefilter's index of how they start.
 */
export interface MaskingPlan {
  phrases: Buffer[];
  tokenPrefixes: Buffer[];
  readonly index: PatternIndex;
}

export function maskingPlan(options: MaskingOptions): MaskingPlan {
  const phrases = uniqueShortestFirst(options.phrases ?? [])
    .reverse()
    .map((p) => ownedBytes(p));
  const tokenPrefixes = effectiveTokenPrefixes(
    options.tokenPrefixes ?? [],
    options.maskAllDefaultTokens ?? true,
  )
    .reverse()
    .map((p) => ownedBytes(p));
  // Filter order in StreamMasker: phrases, the URL filter, token prefixes.
  const index = new PatternIndex();
  phrases.forEach((p, i) => {
    index.add(p, i);
  });
  const url = phrases.length;
  index.add(Buffer.from('?'), url);
  index.add(Buffer.from('&'), url);
  tokenPrefixes.forEach((p, i) => {
    index.add(p, url + 1 + i);
  });
  return { phrases, tokenPrefixes, index };
}

const BIGRAM_BITS = 4096;

/** Folds a two-byte key into BIGRAM_BITS. */
function bigramBit(bigram: number): number {
  return (bigram ^ (bigram >>> 12)) & (BIGRAM_BITS - 1);
}

/** Filter indices keyed by the first one, two or three bytes of their patterns. */
export class PatternIndex {
  /** Bytes any pattern starts with: the only positions the prefilter looks at closer. */
  readonly gate = new Uint8Array(256);
  /** Patterns of one byte (and the URL filter's `?`/`&`). */
  readonly single = new Uint8Array(256);
  readonly singleList: (number[] | undefined)[] = new Array(256);
  /** Every pattern of 2+ bytes by its first byte (for a chunk's last byte). */
  readonly firstList: (number[] | undefined)[] = new Array(256);
  /**
   * Bitset of the first two bytes of patterns of 2+ bytes, folded into 4,096 bits (512 bytes, not
   * 8 KiB a job): a collision only sends the scan on to the exact maps below.
   */
  readonly bigramBits = new Uint32Array(BIGRAM_BITS / 32);
  /** Two-byte patterns, and longer ones by their first two bytes (for a chunk's last two bytes). */
  readonly byBigram = new Map<number, number[]>();
  readonly longByBigram = new Map<number, number[]>();
  readonly byTrigram = new Map<number, number[]>();

  add(pattern: Buffer, index: number): void {
    const add = <K>(map: Map<K, number[]>, key: K) => {
      const list = map.get(key) ?? [];
      if (!list.includes(index)) list.push(index);
      map.set(key, list);
    };
    const push = (lists: (number[] | undefined)[], at: number) => {
      const list = lists[at] ?? [];
      if (!list.includes(index)) list.push(index);
      lists[at] = list;
    };
    const b0 = pattern[0]!;
    this.gate[b0] = 1;
    if (pattern.length === 1) {
      this.single[b0] = 1;
      push(this.singleList, b0);
      return;
    }
    push(this.firstList, b0);
    const bigram = (b0 << 8) | pattern[1]!;
    const bit = bigramBit(bigram);
    this.bigramBits[bit >>> 5]! |= 1 << (bit & 31);
    if (pattern.length === 2) add(this.byBigram, bigram);
    else {
      add(this.longByBigram, bigram);
      add(this.byTrigram, (bigram << 8) | pattern[2]!);
    }
  }
}

/**
 * The masking filters of one output stream. `write` returns the bytes that are safe to pass on now;
 * `end` releases whatever was held back. Keep one per stream for the whole job, so a secret split
 * across writes — or across the end of one container's log and the start of the next — is caught.
 */
export class StreamMasker {
  private readonly filters: Filter[];
  private readonly index: PatternIndex;
  private readonly hit: Uint8Array;
  private hits = 0;
  private idle = true;

  constructor(plan: MaskingPlan) {
    this.filters = [
      ...plan.phrases.map((p) => new PhraseFilter(p)),
      new UrlParamFilter(),
      ...plan.tokenPrefixes.map((p) => new TokenPrefixFilter(p)),
    ];
    this.index = plan.index;
    this.hit = new Uint8Array(this.filters.length);
  }

  private mark(list: number[] | undefined): void {
    if (!list) return;
    for (const i of list) {
      if (!this.hit[i]) {
        this.hit[i] = 1;
        this.hits++;
      }
    }
  }

  /**
   * Marks in `hit` the filters that may act on `chunk`: one of their patterns starts in it (judged
   * on its first three bytes), or the chunk ends in what may be such a start. One pass over the
   * bytes; most log lines mark none and pass through without allocation.
   */
  private prefilter(chunk: Buffer): number {
    const ix = this.index;
    this.hit.fill(0);
    this.hits = 0;
    const n = chunk.length;
    const last = n - 1;
    const gate = ix.gate;
    for (let i = 0; i < last; i++) {
      const b = chunk[i]!;
      if (gate[b] === 0) continue;
      if (ix.single[b]) this.mark(ix.singleList[b]);
      const bigram = (b << 8) | chunk[i + 1]!;
      const bit = bigramBit(bigram);
      if ((ix.bigramBits[bit >>> 5]! & (1 << (bit & 31))) === 0) continue;
      this.mark(ix.byBigram.get(bigram));
      if (i + 2 < n) this.mark(ix.byTrigram.get((bigram << 8) | chunk[i + 2]!));
      else this.mark(ix.longByBigram.get(bigram));
    }
    if (n > 0) {
      const b = chunk[last]!;
      if (ix.single[b]) this.mark(ix.singleList[b]);
      this.mark(ix.firstList[b]);
    }
    return this.hits;
  }

  write(chunk: Uint8Array): Buffer {
    if (chunk.length === 0) return Buffer.alloc(0);
    const data = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // With every filter idle, only filters with a possible match in this chunk need to see it.
    const selective = this.idle;
    if (selective && this.prefilter(data) === 0) return data;
    let pieces: Piece[] = [data];
    this.filters.forEach((filter, index) => {
      if (selective && !this.hit[index]) return;
      const out: Piece[] = [];
      for (const piece of pieces) {
        if (piece === MASK) {
          if (filter.beforeMask(out)) out.push(MASK);
        } else filter.write(piece, out);
      }
      pieces = out;
    });
    this.idle = this.filters.every((f) => f.idle());
    return joinPieces(pieces);
  }

  end(): Buffer {
    let pieces: Piece[] = [];
    for (const filter of this.filters) {
      const out: Piece[] = [];
      for (const piece of pieces) {
        if (piece === MASK) {
          if (filter.beforeMask(out)) out.push(MASK);
        } else filter.write(piece, out);
      }
      filter.end(out);
      pieces = out;
    }
    this.idle = true;
    return joinPieces(pieces);
  }
}

function joinPieces(pieces: Piece[]): Buffer {
  if (pieces.length === 1 && pieces[0] !== MASK) return pieces[0]!;
  return Buffer.concat(pieces.map((p) => (p === MASK ? MASKED_BYTES : p)));
}
