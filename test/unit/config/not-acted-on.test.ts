import { describe, expect, it } from 'vitest';
import { normalizeKeys } from '../../../src/config/normalize-keys.ts';
import { findNotActedOn, notActedOn } from '../../../src/config/not-acted-on.ts';
import { configSchema } from '../../../src/config/schema/config.ts';

describe('the not-acted-on list', () => {
  it('names only keys the schema accepts (an entry for a renamed key would be dead)', () => {
    for (const entry of notActedOn) {
      const segments = entry.pattern.split('.');
      let doc: unknown = 'x';
      for (let i = segments.length - 1; i >= 0; i--) {
        doc =
          segments[i] === '*'
            ? [doc]
            : { [segments[i]!]: i === segments.length - 1 && entry.children ? {} : doc };
      }
      expect(normalizeKeys(doc, configSchema).unknownKeys, entry.pattern).toEqual([]);
    }
  });

  it('matches set keys, array elements and the children of a table', () => {
    const found = findNotActedOn(
      {
        sentry_dsn: 'x',
        runners: [
          { url: 'u', kubernetes: { namespace: 'a', image: 'b' } },
          { url: 'v', pre_build_script: 'echo' },
        ],
      },
      [
        { pattern: 'sentry_dsn', reason: 'r' },
        { pattern: 'runners.*.kubernetes', reason: 'r', children: true },
        { pattern: 'runners.*.pre_build_script', reason: 'r' },
      ],
    );
    expect(found.map((f) => f.path)).toEqual([
      ['sentry_dsn'],
      ['runners', 0, 'kubernetes', 'namespace'],
      ['runners', 0, 'kubernetes', 'image'],
      ['runners', 1, 'pre_build_script'],
    ]);
  });
});
