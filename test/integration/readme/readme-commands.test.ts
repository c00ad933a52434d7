// Every command README.md gives for deploying with Helm and for the compose stack is run by a test:
// the ones that work offline are run here, as written; the others must appear, as written, in the
// e2e suites that run them where Docker (and kind) exist.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { helmBinary } from '../../support/helm.ts';

const run = promisify(execFile);

/** The shell commands in the ```sh blocks of a `## ` section (and its subsections). */
function sectionCommands(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const rest = markdown.slice(start + 1);
  const end = rest.indexOf('\n## ', 1);
  const section = end < 0 ? rest : rest.slice(0, end);
  const commands: string[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      const command = line.replace(/\s+#.*$/, '').trim();
      if (command && !command.startsWith('#')) commands.push(command);
    }
  }
  return commands;
}

const readme = readFileSync('README.md', 'utf8');
const commands = ['Deploying with Helm', 'Local development with Docker Compose'].flatMap((h) =>
  sectionCommands(readme, h),
);
const e2eSources = readdirSync('test/e2e')
  .filter((f) => f.endsWith('.ts'))
  .map((f) => readFileSync(join('test/e2e', f), 'utf8'))
  .join('\n');

const runnableHere = (command: string) =>
  /^(helm (lint|template) |docker-compose .* config -q$)/.test(command);

describe('README commands', () => {
  it('are found in both sections', () => {
    expect(commands.length).toBeGreaterThanOrEqual(8);
  });

  it.each(commands.filter((c) => !runnableHere(c)))('`%s` is run by an e2e suite', (command) => {
    expect(e2eSources).toContain(`'${command}'`);
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
