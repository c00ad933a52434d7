// Samples one process's resident memory and CPU time from /proc (Linux), on an interval, so the
// manager's own cost is measured from outside it: /proc/<pid>/status VmRSS, /proc/<pid>/stat utime+stime.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface ProcSample {
  /** Epoch milliseconds. */
  t: number;
  rssBytes: number;
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
}

let clockTicks: number | undefined;

/** `getconf CLK_TCK` (the unit of utime/stime), 100 where it cannot be asked. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime in clock ticks, from the text of /proc/<pid>/stat (the name may hold spaces and parens). */
export function parseStatCpuTicks(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close === -1) return undefined;
  // after "pid (comm) " come: state(3) ppid(4) … utime(14) stime(15), so utime is index 11 here
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

/** VmRSS in bytes, from the text of /proc/<pid>/status. */
export function parseStatusRss(status: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

export async function readProcSample(pid: number): Promise<ProcSample | undefined> {
  try {
    const [stat, status] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/status`, 'utf8'),
    ]);
    const ticks = parseStatCpuTicks(stat);
    const rss = parseStatusRss(status);
    if (ticks === undefined || rss === undefined) return undefined;
    return { t: Date.now(), rssBytes: rss, cpuSeconds: ticks / clockTicksPerSecond() };
  } catch {
    return undefined; // the process is gone
  }
}

export interface ProcSampler {
  readonly samples: readonly ProcSample[];
  /** Takes one more sample now (the level's first and last figures) and returns it. */
  sample(): Promise<ProcSample | undefined>;
  stop(): void;
}

export function startProcSampler(pid: number, intervalMs: number): ProcSampler {
  const samples: ProcSample[] = [];
  let busy = false;
  const take = async () => {
    const s = await readProcSample(pid);
    if (s) samples.push(s);
    return s;
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void take().finally(() => {
      busy = false;
    });
  }, intervalMs);
  timer.unref();
  return {
    samples,
    sample: take,
    stop: () => clearInterval(timer),
  };
}
