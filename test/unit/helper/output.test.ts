import { describe, expect, it } from 'vitest';
import { shortenToken } from '../../../helper/http/client.ts';
import { cleanUrl, Masker } from '../../../helper/output/mask.ts';
import { formatBytes, Trace } from '../../../helper/output/trace.ts';

function capture(options: ConstructorParameters<typeof Trace>[1] = {}) {
  let text = '';
  const trace = new Trace({ write: (s) => (text += s) }, { now: () => 1_700_000_000_123, ...options });
  return { trace, text: () => text };
}

describe('trace output in gitlab-runner format', () => {
  it('wraps a stage in section markers with its cyan title', async () => {
    const { trace, text } = capture();
    await trace.stage('restore_cache', async () => trace.notice('Checking cache for k...'));
    expect(text()).toBe(
      'section_start:1700000000:restore_cache\r\x1b[0K\x1b[0K\x1b[36;1mRestoring cache\x1b[0;m\x1b[0;m\n' +
        '\x1b[32;1mChecking cache for k...\x1b[0;m\n' +
        'section_end:1700000000:restore_cache\r\x1b[0K\n',
    );
  });

  it('omits markers when the job disables trace sections', async () => {
    const { trace, text } = capture({ sections: false });
    await trace.stage('get_sources', async () => undefined);
    expect(text()).toBe('\x1b[0K\x1b[36;1mGetting source from Git repository\x1b[0;m\x1b[0;m\n');
  });

  it('formats logrus lines like the runner text formatter', () => {
    const { trace, text } = capture();
    trace.log('warning', 'Retrying...', { error: 'boom', context: 'x' });
    trace.log('info', 'ok', { b: 2, a: 1 });
    expect(text()).toBe(
      `\x1b[0;33mWARNING: Retrying...${' '.repeat(30)}\x1b[0;m  \x1b[0;33mcontext\x1b[0;m=x \x1b[0;33merror\x1b[0;m=boom\n` +
        `ok${' '.repeat(48)}\x1b[0;m  a\x1b[0;m=1 b\x1b[0;m=2\n`,
    );
  });

  it('masks secrets, URL credentials and pre-signed URL signatures, also split across chunks of a line stream', () => {
    const { trace, text } = capture({ masker: new Masker(['glcbt-supersecret']) });
    const stream = trace.lineStream();
    stream.write('token glcbt-super');
    stream.write('secret and https://user:pw@host/x?X-Amz-Signature=abc&a=1\n');
    stream.end();
    expect(text()).toBe('token [MASKED] and https://user:[MASKED]@host/x?X-Amz-Signature=[MASKED]&a=1\n');
    expect(cleanUrl('https://u:p@h/p?q=1')).toBe('https://h/p');
  });

  it('formats sizes and tokens like upstream', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_234_567)).toBe('1.23 MB');
    expect(shortenToken('glcbt-abcdefghijkl')).toBe('abcdefghi');
    expect(shortenToken('glrt-t3_abcdefghijkl')).toBe('abcdefghi');
  });
});
