import { describe, expect, it } from 'vitest';
import { LogStore } from '../../../src/sim/kube/api/logs.ts';

const text = (s: string) => Buffer.from(s);

describe('LogStore', () => {
  it('keeps whole lines in write order and holds a partial line until its newline or the end', () => {
    const logs = new LogStore({ maxBytesPerRun: 1 << 20 });
    const w = logs.open('uid', 'build');
    const t = new Date();
    w.write('stdout', text('a\nb'), t);
    w.write('stderr', text('err\n'), t);
    const run = logs.current('uid', 'build')!;
    expect(run.pieces.map((p) => p.data.toString())).toEqual(['a\n', 'err\n']);
    let woken = 0;
    run.subscribe(() => woken++);
    w.write('stdout', text('c\n'), t);
    expect(run.pieces.map((p) => p.data.toString())).toEqual(['a\n', 'err\n', 'bc\n']);
    w.write('stdout', text('tail'), t);
    w.close();
    expect(run.pieces.at(-1)?.data.toString()).toBe('tail');
    expect(run.closed).toBe(true);
    expect(woken).toBe(2);
    w.write('stdout', text('late\n'), t);
    expect(run.pieces).toHaveLength(4);
  });

  it('cuts long lines into 16 KiB pieces and rotates past the size limit', () => {
    const logs = new LogStore({ maxBytesPerRun: 40_000 });
    const w = logs.open('uid', 'c');
    w.write('stdout', Buffer.alloc(20_000, 'x'), new Date());
    w.write('stdout', text('\n'), new Date());
    const run = logs.current('uid', 'c')!;
    expect(run.pieces.map((p) => [p.data.length, p.continuation])).toEqual([
      [16_384, false],
      [3_617, true],
    ]);
    w.write('stdout', Buffer.alloc(30_000, 'y'), new Date());
    w.write('stdout', text('\n'), new Date());
    expect(run.firstIndex).toBeGreaterThan(0);
    expect(run.pieces.reduce((n, p) => n + p.data.length, 0)).toBeLessThanOrEqual(40_000);
  });

  it('keeps the current and previous run of a container and drops them with the pod', () => {
    const logs = new LogStore({ maxBytesPerRun: 1 << 20 });
    const first = logs.open('uid', 'c');
    first.write('stdout', text('one\n'), new Date());
    const second = logs.open('uid', 'c');
    second.write('stdout', text('two\n'), new Date());
    expect(logs.previous('uid', 'c')?.closed).toBe(true);
    expect(logs.previous('uid', 'c')?.pieces[0]?.data.toString()).toBe('one\n');
    expect(logs.current('uid', 'c')?.pieces[0]?.data.toString()).toBe('two\n');
    const current = logs.current('uid', 'c')!;
    logs.removePod('uid');
    expect(current.closed).toBe(true);
    expect(logs.current('uid', 'c')).toBeUndefined();
  });
});
