// The helper image (images/helper/Dockerfile) cannot be built here (no image registry), so this test
// keeps it correct by reading: every file the helper program loads is copied into the image, and
// every package it imports is installed there at the version the repository's lockfile tests.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');

/** Files reachable from the helper's entry point through static and dynamic imports, and bare packages. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = read(file);
    const specifiers = [
      ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g),
    ].map((m) => m[1] ?? m[2]!);
    for (const spec of specifiers) {
      if (spec.startsWith('.')) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
        if (existsSync(path.join(ROOT, target))) queue.push(target);
      } else if (!spec.startsWith('node:')) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
  }
  return { files, packages };
}

describe('helper image', () => {
  const { files, packages } = closure('bin/podrunner-helper.js');
  const image = JSON.parse(read('images/helper/package.json')) as {
    version: string;
    type: string;
    dependencies: Record<string, string>;
  };
  const root = JSON.parse(read('package.json')) as { version: string; dependencies: Record<string, string> };
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version: string }> };
  const dockerfile = read('images/helper/Dockerfile');

  it('installs exactly the packages the helper imports, at the lockfile versions', () => {
    expect(Object.keys(image.dependencies).sort()).toEqual([...packages].sort());
    for (const [name, version] of Object.entries(image.dependencies)) {
      expect(root.dependencies[name], name).toBeDefined();
      expect(version, name).toBe(lock.packages[`node_modules/${name}`]?.version);
    }
    expect(image.version).toBe(root.version);
    expect(image.type).toBe('module');
  });

  it('copies every source file the helper loads', () => {
    for (const file of files) {
      const copied = dockerfile.split('\n').some((line) => {
        const m = /^COPY (?!--from)(\S+) /.exec(line);
        return m !== null && (file === m[1] || file.startsWith(`${m[1]}/`));
      });
      expect(copied, `${file} is not copied into the image`).toBe(true);
    }
    expect(files.has('src/version.ts')).toBe(true);
  });

  it('runs as a non-root user of group 0 and puts podrunner-helper on PATH', () => {
    expect(dockerfile).toMatch(/^USER 10001:0$/m);
    expect(dockerfile).toContain('/usr/local/bin/podrunner-helper');
    expect(dockerfile).toMatch(/apk add --no-cache [^\n]*\bgit\b[^\n]*\bca-certificates\b/);
  });
});
