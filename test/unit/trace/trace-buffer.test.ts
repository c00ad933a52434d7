import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  fileSpool,
  JobTrace,
  outputLimitMessage,
  removeOrphanedSpoolDirs,
  type SpoolFile,
  TraceBuffer,
  truncateUtf8,
} from '../../../src/trace/index.ts';

const text = (b: TraceBuffer) => Buffer.from(b.bytes(0, b.size)).toString('utf8');

describe('TraceBuffer', () => {
  it('keeps every byte with its CRC-32 and size, however it was written', () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 128));
    const whole = new TraceBuffer();
    whole.write(data);
    const pieces = new TraceBuffer();
    for (let i = 0; i < data.length; i += 997) {
      pieces.write(data.subarray(i, i + 997));
      if (i % 50 === 0) expect(pieces.checksum).toMatch(/^crc32:[0-9a-f]{8}$/);
    }
    const expected = `crc32:${crc32(data).toString(16).padStart(8, '0')}`;
    expect(whole.checksum).toBe(expected);
    expect(pieces.checksum).toBe(expected);
    expect(Buffer.from(pieces.bytes(0, pieces.size)).equals(data)).toBe(true);
    expect(Buffer.from(pieces.bytes(123_456, 10)).equals(data.subarray(123_456, 123_466))).toBe(true);
    expect(pieces.bytes(data.length, 10)).toHaveLength(0);
    expect(new TraceBuffer().checksum).toBe('crc32:00000000');
  });

  it('replaces invalid UTF-8 byte by byte, like Go, and joins characters split across writes', () => {
    const b = new TraceBuffer();
    b.write(Buffer.from([0x61, 0xff, 0x62, 0xe2, 0x82, 0x41])); // ÿ invalid; E2 82 then 'A' is invalid
    b.write(Buffer.from('€').subarray(0, 2)); // first two bytes of €
    b.write(Buffer.from('€').subarray(2)); // its last byte
    b.write(Buffer.from([0xed, 0xa0, 0x80])); // a surrogate: three invalid bytes
    b.write(Buffer.from([0xf0, 0x9f])); // incomplete at the end
    b.finish();
    expect(text(b)).toBe('a\ufffdb\ufffd\ufffdA€\ufffd\ufffd\ufffd\ufffd\ufffd');
  });

  it('cuts the write that crosses output_limit at a character boundary and drops everything after', () => {
    const b = new TraceBuffer({ limitBytes: 10 });
    b.write('12345678');
    b.write('€uro'); // € is 3 bytes: only 2 would fit
    b.write('more output');
    b.finish();
    expect(text(b)).toBe(`12345678${outputLimitMessage(10)}`);
    expect(outputLimitMessage(10)).toBe(
      "\n\x1b[33;1mJob's log exceeded limit of 10 bytes.\nJob execution will continue but no more output will be collected.\x1b[0;m\n",
    );
    expect(b.limitReached).toBe(true);
    expect(b.size).toBe(Buffer.byteLength(text(b)));
  });

  it('writes the notice when a write fills the limit exactly, and defaults to 4 MiB', () => {
    const b = new TraceBuffer({ limitBytes: 4 });
    b.write('abcd');
    expect(text(b)).toBe(`abcd${outputLimitMessage(4)}`);
    expect(new TraceBuffer().limitBytes).toBe(4 * 1024 * 1024);
    expect(new TraceBuffer({ limitBytes: 0 }).limitBytes).toBe(4 * 1024 * 1024);
  });

  it('truncates UTF-8 without cutting a character', () => {
    const s = Buffer.from('aé€😀');
    expect(Buffer.from(truncateUtf8(s, 2)).toString()).toBe('a');
    expect(Buffer.from(truncateUtf8(s, 3)).toString()).toBe('aé');
    expect(Buffer.from(truncateUtf8(s, 5)).toString()).toBe('aé');
    expect(Buffer.from(truncateUtf8(s, 6)).toString()).toBe('aé€');
    expect(Buffer.from(truncateUtf8(s, 9)).toString()).toBe('aé€');
    expect(Buffer.from(truncateUtf8(s, 10)).toString()).toBe('aé€😀');
  });

  it('applies the limit after masking and timestamps (the checksum covers the final bytes)', () => {
    const trace = new JobTrace({
      timestamps: true,
      phrases: ['topsecret'],
      outputLimitBytes: 60,
      clock: () => 0,
    });
    trace.runner.write('value topsecret\n');
    trace.runner.write('x'.repeat(100));
    trace.finish();
    const out = text(trace.buffer);
    expect(out.startsWith('1970-01-01T00:00:00.000000Z 00O value [MASKED]\n')).toBe(true);
    expect(out.endsWith(outputLimitMessage(60))).toBe(true);
    expect(out).not.toContain('topsecret');
  });
});

describe('TraceBuffer: spooling out of memory', () => {
  const MiB = 1024 * 1024;
  const data = Buffer.from(Array.from({ length: 4 * MiB }, (_, i) => 0x20 + ((i * 31) % 90)));

  /** A spool that records where its file is. */
  function recorded(): { spool: () => SpoolFile; files: SpoolFile[] } {
    const files: SpoolFile[] = [];
    return {
      files,
      spool: () => {
        const f = fileSpool();
        files.push(f);
        return f;
      },
    };
  }

  it('keeps only the block being filled of a 4 MiB log in memory and gives every byte back', () => {
    const { spool, files } = recorded();
    const b = new TraceBuffer({ limitBytes: 8 * MiB, spool });
    let peak = 0;
    for (let i = 0; i < data.length; i += 1500) {
      b.write(data.subarray(i, i + 1500));
      peak = Math.max(peak, b.memorySize);
    }
    expect(peak).toBeLessThanOrEqual(8 * 1024);
    expect(files).toHaveLength(1);
    expect(files[0]!.length + b.memorySize).toBe(data.length);
    expect(Buffer.from(b.bytes(0, b.size)).equals(data)).toBe(true);
    // a read across the file/memory boundary, and one inside the file
    const edge = files[0]!.length;
    expect(Buffer.from(b.bytes(edge - 100, 200)).equals(data.subarray(edge - 100, edge + 100))).toBe(true);
    expect(Buffer.from(b.bytes(12_345, 777)).equals(data.subarray(12_345, 13_122))).toBe(true);
    expect(b.checksum).toBe(`crc32:${crc32(data).toString(16).padStart(8, '0')}`);
    b.dispose();
  });

  it('moves acknowledged bytes out of memory in whole blocks', () => {
    const b = new TraceBuffer({ memoryBytes: 32 * 1024 });
    b.write(data.subarray(0, 20_000));
    expect(b.memorySize).toBe(20_000);
    b.acknowledge(10_000);
    expect(b.memorySize).toBe(20_000 - 8192); // the one whole block below 10 000
    b.acknowledge(20_000);
    expect(b.memorySize).toBe(20_000 - 16_384); // the block being filled stays
    expect(Buffer.from(b.bytes(0, 20_000)).equals(data.subarray(0, 20_000))).toBe(true);
    b.dispose();
  });

  it('keeps everything in memory when the spool cannot be written, losing nothing', () => {
    const b = new TraceBuffer({
      spool: () => {
        throw new Error('ENOSPC');
      },
    });
    for (let i = 0; i < MiB; i += 4096) b.write(data.subarray(i, i + 4096));
    b.acknowledge(MiB);
    expect(b.memorySize).toBe(MiB);
    expect(Buffer.from(b.bytes(0, MiB)).equals(data.subarray(0, MiB))).toBe(true);
    const inMemory = new TraceBuffer({ spool: false });
    inMemory.write(data.subarray(0, MiB));
    expect(inMemory.memorySize).toBe(MiB);
  });

  it('writes a private file, holds no descriptor open, and removes the file on dispose', () => {
    const { spool, files } = recorded();
    const b = new TraceBuffer({ spool });
    const fds = readdirSync('/proc/self/fd').length;
    b.write(data.subarray(0, 200_000));
    expect(readdirSync('/proc/self/fd')).toHaveLength(fds);
    const path = files[0]?.path ?? '';
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    expect(statSync(path).size).toBe(files[0]!.length);
    b.dispose();
    expect(existsSync(path)).toBe(false);
    expect(() => b.bytes(0, 10)).toThrow();
  });
});

describe('removeOrphanedSpoolDirs', () => {
  it('removes the spool directories of podrunner processes that are gone, and only those', () => {
    const parent = mkdtempSync(join(tmpdir(), 'spool-sweep-'));
    try {
      for (const name of [
        'podrunner-trace-111-a',
        'podrunner-trace-222-b',
        `podrunner-trace-${process.pid}-c`,
        'other-1-d',
      ]) {
        mkdirSync(join(parent, name));
        writeFileSync(join(parent, name, 'trace-1'), 'x');
      }
      writeFileSync(join(parent, 'podrunner-trace-333-file'), 'not a directory');
      const removed = removeOrphanedSpoolDirs(parent, (pid) => pid === 222);
      expect(removed).toEqual([join(parent, 'podrunner-trace-111-a')]);
      expect(readdirSync(parent).sort()).toEqual(
        [
          'other-1-d',
          'podrunner-trace-222-b',
          'podrunner-trace-333-file',
          `podrunner-trace-${process.pid}-c`,
        ].sort(),
      );
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
