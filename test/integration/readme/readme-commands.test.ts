// Every command in README.md is run by a test or by CI: the ones that work offline are run here, as
// written; the others must appear, as written, in the suite or CI script that runs them (the demo test,
// .ci/run, the e2e suites that run where Docker and kind exist). A command `a && b` counts when each part
// does. The README's lists that mirror the code (keys not acted on, metric names) are checked against it.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { notActedOn } from '../../../src/config/not-acted-on.ts';
import { ManagerMetrics } from '../../../src/metrics/registry.ts';
import { helmBinary } from '../../support/helm.ts';

const run = promisify(execFile);

const readme = readFileSync('README.md', 'utf8');

/** The text of a `## ` section (with its subsections). */
function section(heading: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const rest = readme.slice(start + 1);
  const end = rest.indexOf('\n## ', 1);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The shell commands in the ```sh blocks of a markdown text, comments removed. */
function shCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      const command = line.replace(/\s+#.*$/, '').trim();
      if (command && !command.startsWith('#')) commands.push(command);
    }
  }
  return commands;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const commands = shCommands(readme);
const thisFile = relative(process.cwd(), new URL(import.meta.url).pathname);
const suites = filesUnder('test')
  .filter((f) => f !== thisFile && (f.startsWith('test/e2e/') || f.startsWith('test/integration/')))
  .map((f) => ({ file: f, text: readFileSync(f, 'utf8') }));
/** The commands .ci/run runs: its lines, and each part of an `a && b` line. */
const ciCommands = readFileSync('.ci/run', 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .flatMap((l) => [l, ...l.split(' && ')]);

const runnableHere = (command: string) =>
  /^(helm (lint|template) |docker-compose .* config -q$)/.test(command);

/** Where a command is run, as written: by .ci/run, or as a string literal in a test suite. */
function runBy(command: string): string | undefined {
  if (ciCommands.includes(command)) return '.ci/run';
  const quoted = [`'${command}'`, `"${command}"`];
  return suites.find((s) => quoted.some((q) => s.text.includes(q)))?.file;
}

describe('README commands', () => {
  it('has the two quick-start commands, exactly', () => {
    expect(shCommands(section('Quick start'))).toEqual(['npm ci && npm run demo', 'npm ci && npm test']);
  });

  it('are found in every section that gives commands', () => {
    expect(commands.length).toBeGreaterThanOrEqual(10);
    for (const heading of ['Quick start', 'Deploying with Helm', 'Local development with Docker Compose']) {
      expect(shCommands(section(heading)).length, heading).toBeGreaterThan(0);
    }
  });

  it.each(commands.filter((c) => !runnableHere(c)))('`%s` is run by a test or CI', (command) => {
    const whole = runBy(command);
    if (whole) return;
    const parts = command.split(' && ');
    expect(parts.length, `\`${command}\` is in no test suite and not in .ci/run`).toBeGreaterThan(1);
    for (const part of parts) {
      expect(
        runBy(part),
        `\`${part}\` (of \`${command}\`) is in no test suite and not in .ci/run`,
      ).toBeDefined();
    }
  });

  it('the demo command is run by the demo test, after what CI runs first', () => {
    expect(runBy('npm run demo')).toBe('test/integration/demo/demo.test.ts');
    expect(runBy('npm ci')).toBe('.ci/run');
    expect(runBy('npm ci && npm test')).toBe('.ci/run');
  });

  it.each(commands.filter(runnableHere))('`%s` succeeds as written', async (command) => {
    if (command.startsWith('docker-compose')) {
      const present = await run('docker-compose', ['version']).then(
        () => true,
        () => false,
      );
      if (!present) {
        console.warn(`not run: ${command}: docker-compose is not installed (apt-get install docker-compose)`);
        return;
      }
    }
    const helm = await helmBinary();
    const { stdout } = await run('/bin/sh', ['-c', command], {
      env: { PATH: `${dirname(helm)}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: dirname(helm) },
      maxBuffer: 32 * 1024 * 1024,
    });
    if (command.startsWith('helm template')) expect(stdout).toContain('kind: Deployment');
    if (command.startsWith('helm lint')) expect(stdout).toContain('0 chart(s) failed');
  });
});

describe('README lists that mirror the code', () => {
  it('names every config key podrunner accepts but does not act on yet', () => {
    const text = section('Configuration');
    for (const entry of notActedOn) {
      const key = entry.pattern.split('.').at(-1) as string;
      expect(text, entry.pattern).toContain(`\`${key}\``);
    }
  });

  it('names only metrics the manager registers, and all of them', async () => {
    const registered = (await new ManagerMetrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map(
      (m) => m.name,
    );
    const named = [...section('Metrics').matchAll(/`((?:gitlab_runner|podrunner)_[a-z_]+)/g)].map(
      (m) => m[1],
    );
    expect(new Set(named)).toEqual(new Set(registered));
  });

  it('points only at files that exist', () => {
    const paths = [
      ...readme.matchAll(/`((?:src|docs|test|charts|helper|images|scripts|dev)\/[^`\s]*)`/g),
    ].map((m) => m[1] as string);
    expect(paths.length).toBeGreaterThan(10);
    const missing = paths.filter((p) => !existsSync(p));
    expect(missing).toEqual([]);
  });
});
