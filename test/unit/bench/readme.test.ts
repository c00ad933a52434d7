// Every `podrunner bench` command in README.md's "Benchmarking" section parses with the command's own
// definition and options schema, so the README cannot drift from the flags.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { benchCommand } from '../../../src/bench/command.ts';
import { parseBenchOptions } from '../../../src/bench/options.ts';

const readme = readFileSync('README.md', 'utf8');
const start = readme.indexOf('\n## Benchmarking\n');
const section = readme.slice(start, readme.indexOf('\n## ', start + 5));
// the ```sh blocks, and the commands given in the text as `npx podrunner bench …` (wrapped lines joined)
const commands = [
  ...[...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => (m[1] ?? '').split('\n')),
  ...[...section.matchAll(/`(npx podrunner bench [^`]+)`/g)].map((m) => (m[1] ?? '').replace(/\s+/g, ' ')),
]
  .map((l) => l.trim())
  .filter((l) => l.startsWith('npx podrunner bench'));

describe('README "Benchmarking"', () => {
  it('has commands', () => {
    expect(start).toBeGreaterThan(0);
    expect(commands.length).toBeGreaterThanOrEqual(3);
  });

  it.each(commands)('`%s` parses', (line) => {
    const argv = line
      .replace(/^npx podrunner bench\s*/, '')
      .split(/\s+/)
      .filter(Boolean);
    const command = benchCommand().exitOverride();
    const parsed = command.parseOptions(argv);
    expect(parsed.unknown).toEqual([]);
    expect(parsed.operands).toEqual([]);
    const options = parseBenchOptions({ ...command.opts(), keep: command.opts().keep ?? false });
    expect(options.concurrency.length).toBeGreaterThan(0);
  });

  it('lists every option of the command', () => {
    for (const option of benchCommand().options) expect(section).toContain(`\`${option.long}`);
  });
});
