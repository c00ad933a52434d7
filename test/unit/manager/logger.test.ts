import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, pinoLevel } from '../../../src/manager/logger.ts';

const capture = () => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c) => {
    text += c;
  });
  return { stream, text: () => text };
};

describe('logger', () => {
  it('writes JSON lines by default off a terminal', async () => {
    const out = capture();
    const log = await createLogger({ level: 'debug', stream: out.stream });
    log.debug({ job: 7, project: 3 }, 'job started');
    const line = JSON.parse(out.text().trim());
    expect(line).toMatchObject({ level: 20, job: 7, project: 3, msg: 'job started' });
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('writes human lines with log_format text/runner', async () => {
    const out = capture();
    const log = await createLogger({ format: 'runner', stream: out.stream });
    log.info({ job: 7 }, 'job started');
    expect(out.text()).toContain('job started');
    expect(out.text()).not.toContain('"msg"');
  });

  it('maps upstream level names', () => {
    expect(pinoLevel('warning')).toBe('warn');
    expect(pinoLevel('panic')).toBe('fatal');
    expect(pinoLevel(undefined)).toBe('info');
  });
});
