// The demo's log rendering: GitLab's log viewer in a terminal, from the fixture logs (plain and
// timestamped), fed whole and in every possible split.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { plainLog, renderLogLine, TraceRenderer } from '../../../src/demo/trace-render.ts';

const examples = JSON.parse(
  readFileSync(new URL('../../fixtures/gitlab/trace-examples.json', import.meta.url), 'utf8'),
) as { plain_log: string; timestamped_segment_ff_timestamps: string };

const bytes = (s: string) => new TextEncoder().encode(s);

function renderInPieces(log: string, color: boolean, cuts: number[]): string[] {
  const data = bytes(log);
  const r = new TraceRenderer({ color });
  const out: string[] = [];
  let from = 0;
  for (const cut of [...cuts, data.length]) {
    out.push(...r.push(data.subarray(from, cut)));
    from = cut;
  }
  return [...out, ...r.end()];
}

const viewerLines = [
  'Running with gitlab-runner 18.11.4 (5b1ba4d9)',
  '  on k8s-manager-eu1 9kWmQp2xZ, system ID: s_4f1c2d9e8a7b',
  'Preparing the "kubernetes" executor',
  'Using Kubernetes executor with image registry.example.com/acme/ci/node:22 ...',
  'Executing "step_script" stage of the job script',
  '$ echo "token=$DEPLOY_API_TOKEN"',
  'token=[MASKED]',
];

describe('TraceRenderer', () => {
  it('shows the timestamped log as the viewer does: no prefixes, no markers, section titles kept', () => {
    expect(plainLog(examples.timestamped_segment_ff_timestamps)).toEqual(viewerLines);
  });

  it('shows the plain (untimestamped) log the same way', () => {
    expect(plainLog(examples.plain_log)).toEqual([...viewerLines, 'Job succeeded']);
  });

  it('gives the same lines whatever pieces the log arrives in (every single cut, and byte by byte)', () => {
    const log = examples.timestamped_segment_ff_timestamps;
    const length = bytes(log).length;
    for (let cut = 1; cut < length; cut++) {
      expect(renderInPieces(log, false, [cut]), `cut at ${cut}`).toEqual(viewerLines);
    }
    expect(
      renderInPieces(
        log,
        false,
        Array.from({ length: length - 1 }, (_, i) => i + 1),
      ),
    ).toEqual(viewerLines);
  });

  it('keeps a multi-byte character split across pieces', () => {
    const log = '2026-01-15T10:00:00.104233Z 01O 来自 Kubernetes Runner 的问候！\n';
    const data = bytes(log);
    const at = data.indexOf(0xe6) + 1;
    expect(renderInPieces(log, false, [at])).toEqual(['来自 Kubernetes Runner 的问候！']);
  });

  it('gives out complete lines as they arrive, and holds only a line a `+` record may continue', () => {
    const r = new TraceRenderer({ color: false });
    expect(r.push(bytes('2026-01-15T10:00:03.904512Z 01O hello\n2026-01-15T10:00:03.9'))).toEqual(['hello']);
    expect(r.push(bytes('05777Z 00O section_end:1768471203:step_script\r\n'))).toEqual([]);
    expect(r.push(bytes('2026-01-15T10:00:03.905777Z 00O+\x1b[0K\n'))).toEqual([]);
    expect(r.push(bytes('2026-01-15T10:00:04.000000Z 00O \x1b[32;1mJob succeeded\x1b[0;m\n'))).toEqual([
      'Job succeeded',
    ]);
    expect(r.end()).toEqual([]);
  });

  it('keeps colours (and resets them at the end of the line) only when asked', () => {
    const line = '\x1b[0K\x1b[32;1m$ make test\x1b[0;m';
    expect(renderLogLine(line, { color: true })).toBe('\x1b[32;1m$ make test\x1b[0;m\x1b[0m');
    expect(renderLogLine(line, { color: false })).toBe('$ make test');
    expect(renderLogLine('plain words', { color: true })).toBe('plain words');
  });

  it('shows what a terminal would after a carriage return, and keeps empty lines that are not markers', () => {
    expect(renderLogLine('downloading 10%\rdownloading 100%', { color: false })).toBe('downloading 100%');
    expect(renderLogLine('', { color: false })).toBe('');
    expect(renderLogLine('section_end:1768471205:step_script\r', { color: false })).toBeUndefined();
  });

  it('shows a section header with options, and the text after an end marker on the same line', () => {
    expect(
      renderLogLine(
        'section_start:1768471205:section_script_step_0[hide_duration=true,collapsed=true]\r\x1b[0K\x1b[32;1m$ echo a\x1b[0;m',
        { color: false },
      ),
    ).toBe('$ echo a');
    expect(
      renderLogLine('section_end:1768471205:step_script\r\x1b[0K\x1b[32;1mJob succeeded\x1b[0;m', {
        color: false,
      }),
    ).toBe('Job succeeded');
  });

  it('drops escape sequences that are not colours, and stray control bytes', () => {
    expect(renderLogLine('\x1b]0;title\x07a\x1b[2Kb\x1b[1Ac\x07', { color: true })).toBe('abc');
  });
});
