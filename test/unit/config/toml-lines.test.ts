import { describe, expect, it } from 'vitest';
import { formatKeyPath, locateKeys } from '../../../src/config/toml-lines.ts';

const source = `# comment with "quotes" and 'apostrophes'
concurrent = 1 # trailing = comment
"quoted.key" = 2

[[runners]]
  name = "a"
  script = """
x = 1
[[not.a.table]]
"""
  literal = '''
y = 2
'''
  list = [
    "one", # a comment
    { inline = true, deep = { k = 1 } },
  ]
  dotted.key = 3
  [runners.kubernetes]
    namespace = "ci"
    [[runners.kubernetes.volumes.host_path]]
      name = "v0"
    [[runners.kubernetes.volumes.host_path]]
      name = "v1"
[[runners]]
  name = "b"
  [runners.kubernetes]
    image = 'it''s'
`;

describe('locateKeys', () => {
  const lines = locateKeys(source);
  it('finds top-level, quoted and dotted keys', () => {
    expect(lines.lineOf(['concurrent'])).toBe(2);
    expect(lines.lineOf(['quoted.key'])).toBe(3);
    expect(lines.lineOf(['runners', 0, 'dotted', 'key'])).toBe(18);
  });

  it('resolves arrays of tables, also nested ones, and sub-tables of the current element', () => {
    expect(lines.lineOf(['runners', 0])).toBe(5);
    expect(lines.lineOf(['runners', 0, 'name'])).toBe(6);
    expect(lines.lineOf(['runners', 0, 'kubernetes', 'namespace'])).toBe(20);
    expect(lines.lineOf(['runners', 0, 'kubernetes', 'volumes', 'host_path', 1, 'name'])).toBe(24);
    expect(lines.lineOf(['runners', 1, 'name'])).toBe(26);
    expect(lines.lineOf(['runners', 1, 'kubernetes', 'image'])).toBe(28);
  });

  it('skips multi-line strings and records keys of inline tables inside arrays', () => {
    expect(lines.lineOf(['x'])).toBeUndefined();
    expect(lines.lineOf(['not'])).toBeUndefined();
    expect(lines.lineOf(['runners', 0, 'literal'])).toBe(11);
    expect(lines.lineOf(['runners', 0, 'list', 1, 'deep', 'k'])).toBe(16);
  });

  it('falls back to the nearest written ancestor, case-insensitively', () => {
    expect(lines.lineOf(['runners', 0, 'kubernetes', 'volumes', 'host_path', 0, 'mount_path'])).toBe(21);
    expect(lines.lineOf(['runners', 1, 'Kubernetes', 'IMAGE'])).toBe(28);
    expect(lines.lineOf(['nothing'])).toBeUndefined();
  });

  it('never throws on broken input', () => {
    expect(() => locateKeys('[[a\nb = "unterminated\n{ = ]]').lineOf(['b'])).not.toThrow();
  });
});

describe('formatKeyPath', () => {
  it('shows array indices in brackets', () => {
    expect(formatKeyPath(['runners', 0, 'kubernetes', 'volumes', 'pvc', 2, 'name'])).toBe(
      'runners[0].kubernetes.volumes.pvc[2].name',
    );
    expect(formatKeyPath([])).toBe('(root)');
  });
});
