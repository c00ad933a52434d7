import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/trace/clock.ts';
import {
  ALL_DEFAULT_TOKEN_PREFIXES,
  effectiveTokenPrefixes,
  JobTrace,
  MASKED_TEXT,
  type MaskingOptions,
  maskingPlan,
  STREAM_JOB,
  StreamMasker,
  TraceSender,
} from '../../../src/trace/index.ts';
import { FakeCoordinator } from './fake-coordinator.ts';

const noTokens: MaskingOptions = { maskAllDefaultTokens: false };

function run(options: MaskingOptions, writes: (string | Uint8Array)[]): { out: string; afterEach: string[] } {
  const masker = new StreamMasker(maskingPlan(options));
  const parts: Buffer[] = [];
  const afterEach: string[] = [];
  for (const w of writes) {
    parts.push(Buffer.from(masker.write(typeof w === 'string' ? Buffer.from(w) : w)));
    afterEach.push(Buffer.concat(parts).toString('utf8'));
  }
  parts.push(Buffer.from(masker.end()));
  return { out: Buffer.concat(parts).toString('utf8'), afterEach };
}

const mask = (options: MaskingOptions, ...writes: string[]) => run(options, writes).out;

/** Every way to cut `text` into two and three writes. */
function* splits(text: string): Generator<string[]> {
  for (let i = 0; i <= text.length; i++) {
    yield [text.slice(0, i), text.slice(i)];
    for (let j = i; j <= text.length; j++) yield [text.slice(0, i), text.slice(i, j), text.slice(j)];
  }
}

describe('masked variables', () => {
  const secret = 's3cr3t-Deploy_Token.9Xq';
  const opts = { ...noTokens, phrases: [secret] };

  it('replaces every occurrence of a value printed whole', () => {
    expect(mask(opts, `token=${secret}\n${secret}${secret} end\n`)).toBe(
      `token=${MASKED_TEXT}\n${MASKED_TEXT}${MASKED_TEXT} end\n`,
    );
  });

  it('masks a value split across writes at every possible boundary (two and three writes)', () => {
    const text = `a ${secret} b ${secret}\n`;
    const expected = `a ${MASKED_TEXT} b ${MASKED_TEXT}\n`;
    let cases = 0;
    for (const writes of splits(text)) {
      expect(run(opts, writes).out, JSON.stringify(writes)).toBe(expected);
      cases++;
    }
    expect(cases).toBeGreaterThan(1000);
  });

  it('masks a value written one byte at a time', () => {
    const text = `x${secret}y`;
    expect(
      run(
        opts,
        [...Buffer.from(text)].map((b) => Uint8Array.of(b)),
      ).out,
    ).toBe(`x${MASKED_TEXT}y`);
  });

  it('holds back only the tail that can still become the value', () => {
    const { afterEach } = run(opts, ['before s3cr', '3t-Deploy_Token.9Xq after', ' and s3c', 'x']);
    expect(afterEach).toEqual([
      'before ',
      `before ${MASKED_TEXT} after`,
      `before ${MASKED_TEXT} after and `,
      `before ${MASKED_TEXT} after and s3cx`,
    ]);
  });

  it('releases a held-back partial value at the end of the stream', () => {
    expect(mask(opts, 'ends with s3cr3t')).toBe('ends with s3cr3t');
  });

  it('masks the longest value first, so a value containing another is masked whole', () => {
    const options = { ...noTokens, phrases: ['secret-1', 'secret-1-long-suffix'] };
    expect(mask(options, 'a secret-1-long-suffix b secret-1 c')).toBe(`a ${MASKED_TEXT} b ${MASKED_TEXT} c`);
  });

  it('finds values whose start repeats inside them (no naive restart)', () => {
    const options = { ...noTokens, phrases: ['aab'] };
    for (const writes of splits('aaab aaaab'))
      expect(run(options, writes).out).toBe(`a${MASKED_TEXT} aa${MASKED_TEXT}`);
    const abab = { ...noTokens, phrases: ['abac'] };
    for (const writes of splits('ababac')) expect(run(abab, writes).out).toBe(`ab${MASKED_TEXT}`);
  });

  it('never re-masks [MASKED] itself', () => {
    expect(mask({ ...noTokens, phrases: ['hunter22', 'MASKED'] }, 'x hunter22 y')).toBe(`x ${MASKED_TEXT} y`);
  });

  it('trims values and ignores empty ones', () => {
    expect(mask({ ...noTokens, phrases: ['  pa55word  ', '', '   '] }, 'p=pa55word ')).toBe(
      `p=${MASKED_TEXT} `,
    );
  });

  it('masks multi-byte values split inside a character', () => {
    const value = 'pässwörd-ñ';
    const bytes = Buffer.from(`<${value}>`);
    for (let i = 0; i <= bytes.length; i++) {
      expect(run({ ...noTokens, phrases: [value] }, [bytes.subarray(0, i), bytes.subarray(i)]).out).toBe(
        `<${MASKED_TEXT}>`,
      );
    }
  });

  it('agrees with a single write for random inputs cut at random places', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = 'ab?&=-_gl';
    const word = (min: number, max: number) =>
      Array.from({ length: min + rand(max - min + 1) }, () => alphabet[rand(alphabet.length)]).join('');
    for (let round = 0; round < 300; round++) {
      const options: MaskingOptions = {
        phrases: [word(2, 5), word(2, 5), word(3, 7)],
        tokenPrefixes: [word(2, 4)],
        maskAllDefaultTokens: round % 2 === 0,
      };
      const text = word(0, 80);
      const whole = run(options, [text]).out;
      const writes: string[] = [];
      let rest = text;
      while (rest.length) {
        const n = 1 + rand(rest.length);
        writes.push(rest.slice(0, n));
        rest = rest.slice(n);
      }
      expect(run(options, writes).out, JSON.stringify({ options, writes })).toBe(whole);
    }
  });

  it('masks across the end of one container log and the start of the next on the same stream', () => {
    const trace = new JobTrace({ timestamps: false, phrases: [secret], maskAllDefaultTokens: false });
    const stream = trace.stream(STREAM_JOB);
    stream.write(`helper output ends with ${secret.slice(0, 10)}`);
    stream.write(`${secret.slice(10)} build output\n`);
    trace.finish();
    const text = Buffer.from(trace.buffer.bytes(0, trace.buffer.size)).toString();
    expect(text).toBe(`helper output ends with ${MASKED_TEXT} build output\n`);
  });

  it('keeps a value printed across a 1 MiB PATCH boundary out of every PATCH', async () => {
    const clock = new ManualClock();
    const gitlab = new FakeCoordinator(() => clock.now());
    const trace = new JobTrace({ timestamps: false, phrases: [secret] });
    const sender = new TraceSender({
      coordinator: gitlab,
      jobId: 1,
      jobToken: 't',
      source: trace.buffer,
      clock,
    });
    sender.start();
    const stream = trace.stream(STREAM_JOB);
    const filler = `${'x'.repeat(1023)}\n`;
    const lead = 1024 * 1024 - 5;
    for (let written = 0; written + filler.length <= lead; written += filler.length) stream.write(filler);
    stream.write('y'.repeat(lead % filler.length));
    // The value starts 5 bytes before the 1 MiB boundary and arrives in two writes.
    stream.write(secret.slice(0, 8));
    stream.write(`${secret.slice(8)}\n`);
    stream.write(`tail ${secret}\n`);
    await clock.advance(3000);
    trace.finish();
    await sender.finish('success');
    expect(gitlab.patches.map((p) => p.length)).toEqual([1024 * 1024, trace.buffer.size - 1024 * 1024]);
    expect(gitlab.trace.equals(Buffer.from(trace.buffer.bytes(0, trace.buffer.size)))).toBe(true);
    const all = gitlab.trace.toString('latin1');
    expect(all.includes(secret)).toBe(false);
    expect(all.indexOf(MASKED_TEXT)).toBe(lead);
    expect(all.endsWith(`tail ${MASKED_TEXT}\n`)).toBe(true);
  });
});

describe('URL parameters', () => {
  it('masks the values of sensitive parameters, case-insensitively', () => {
    expect(
      mask(
        noTokens,
        'GET https://x/api?private_token=abc123&page=2 and ?X-Amz-Signature=deadbeef\tok&rss_token=z',
      ),
    ).toBe(
      `GET https://x/api?private_token=${MASKED_TEXT}&page=2 and ?X-Amz-Signature=${MASKED_TEXT}\tok&rss_token=${MASKED_TEXT}`,
    );
  });

  it('leaves other parameters and long keys alone', () => {
    const text = 'a?token=1&private_tokenx=2&aaaaaaaaaaaaaaaaaaaaaaaaaaprivate_token=3';
    expect(mask(noTokens, text)).toBe(text);
  });

  it('masks an empty value and a value cut at every boundary', () => {
    expect(mask(noTokens, '?authenticity_token=&a=1')).toBe(`?authenticity_token=${MASKED_TEXT}&a=1`);
    const text = 'u?x-amz-credential=AKIA/2026/eu/s3/aws4_request&x-amz-security-token=t0k3n more';
    const expected = `u?x-amz-credential=${MASKED_TEXT}&x-amz-security-token=${MASKED_TEXT} more`;
    for (const writes of splits(text)) expect(run(noTokens, writes).out).toBe(expected);
  });

  it('ends a value at a Unicode space', () => {
    expect(mask(noTokens, '?private_token=abc\u00a0next')).toBe(`?private_token=${MASKED_TEXT}\u00a0next`);
  });
});

describe('token prefixes', () => {
  it('masks what follows glpat- always, and the other defaults with FF_MASK_ALL_DEFAULT_TOKENS', () => {
    const text = 'pat glpat-AbC_123.x=y-z done; job glcbt-64_xyz; runner glrtr-abc glrt-def';
    expect(mask({}, text)).toBe(
      `pat glpat-${MASKED_TEXT} done; job glcbt-${MASKED_TEXT}; runner glrtr-${MASKED_TEXT} glrt-${MASKED_TEXT}`,
    );
    expect(mask({ maskAllDefaultTokens: false }, text)).toBe(
      `pat glpat-${MASKED_TEXT} done; job glcbt-64_xyz; runner glrtr-abc glrt-def`,
    );
  });

  it('masks a token split at every boundary, and one that ends the stream', () => {
    const text = 'a glpat-secretTOKEN b';
    for (const writes of splits(text)) expect(run({}, writes).out).toBe(`a glpat-${MASKED_TEXT} b`);
    expect(mask({}, 'glpat-', 'abc')).toBe(`glpat-${MASKED_TEXT}`);
    expect(mask({}, 'bare glpat- prefix')).toBe('bare glpat- prefix');
  });

  it("applies the job's token_mask_prefixes", () => {
    expect(mask({ tokenPrefixes: ['acme_'] }, 'k=acme_123 x')).toBe(`k=acme_${MASKED_TEXT} x`);
  });

  it('caps the prefixes at 15, shortest first, so long ones are dropped', () => {
    expect(effectiveTokenPrefixes([], true)).toHaveLength(14);
    expect(effectiveTokenPrefixes([], true).at(-1)).toBe('_gitlab_session=');
    // A short job prefix pushes out nothing yet (15 entries)…
    const one = effectiveTokenPrefixes(['ab-'], true);
    expect(one).toHaveLength(15);
    expect(one[0]).toBe('ab-');
    // …a second one pushes out the longest default…
    const two = effectiveTokenPrefixes(['ab-', 'cd-'], true);
    expect(two).not.toContain('_gitlab_session=');
    expect(two).toContain('glagent-');
    // …and once the list is full, a job prefix longer than every default is dropped itself.
    const long = effectiveTokenPrefixes(['ab-', 'a-very-long-prefix-'], true);
    expect(long).not.toContain('a-very-long-prefix-');
    expect(long).toContain('_gitlab_session=');
    expect(mask({ tokenPrefixes: ['ab-', 'a-very-long-prefix-'] }, 'a-very-long-prefix-xyz')).toBe(
      'a-very-long-prefix-xyz',
    );
    expect(mask({ tokenPrefixes: ['a-very-long-prefix-'] }, 'a-very-long-prefix-xyz')).toBe(
      `a-very-long-prefix-${MASKED_TEXT}`,
    );
    // Ties sort alphabetically; duplicates and blanks go.
    expect(effectiveTokenPrefixes(['  glpat-  ', 'zz-', 'aa-', ''], false)).toEqual(['aa-', 'zz-', 'glpat-']);
    expect(ALL_DEFAULT_TOKEN_PREFIXES).toContain('gltok-');
  });

  it('combines with masked variables and URL parameters in upstream order', () => {
    const options = { phrases: ['glpat-known-secret'] };
    expect(mask(options, 'x glpat-known-secret-and-more ?private_token=glpat-zzz y')).toBe(
      `x ${MASKED_TEXT}-and-more ?private_token=${MASKED_TEXT} y`,
    );
  });
});
