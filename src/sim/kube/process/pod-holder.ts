// The process that owns a pod's network, UTS and IPC namespaces (what the pause container is to a
// real pod). It brings `lo` up, puts the pod IP on it, sets the hostname, then answers TCP probes
// (`<id> <port>` in, `<id> 1|0` out) with bash's /dev/tcp, connecting to the pod IP from inside the
// pod's network like the kubelet's prober does. It dies with the runtime (parent-death signal) or
// when its stdin closes, and the namespaces go with it once the pod's containers are gone.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ProcessRuntimeError } from './errors.ts';
import type { Isolation, RuntimeTools } from './host-tools.ts';

const HOLDER_SCRIPT = `
ip_bin=$1; pod_ip=$2; host_name=$3
printf 'link set lo up\naddr add %s/32 dev lo\n' "$pod_ip" | "$ip_bin" -batch - ||
  { echo "error cannot bring up lo with the pod IP $pod_ip"; exit 1; }
# /proc/sys belongs to the host's root: inside a user namespace only sethostname(2) (hostname) works.
{ printf %s "$host_name" > /proc/sys/kernel/hostname || hostname "$host_name"; } 2>/dev/null ||
  { echo "error cannot set the hostname $host_name"; exit 1; }
echo ready
while read -r id port; do
  { if : 3<>"/dev/tcp/$pod_ip/$port"; then echo "$id 1"; else echo "$id 0"; fi; } 2>/dev/null &
done
`;

/** Generous: only a hung system gets there. */
const START_TIMEOUT_MS = 30_000;

export class PodHolder {
  readonly pid: number;
  readonly podIP: string;
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly probes = new Map<number, (ok: boolean) => void>();
  private nextProbe = 1;
  private readonly exited: Promise<void>;

  private constructor(child: ChildProcessByStdio<Writable, Readable, Readable>, podIP: string) {
    if (child.pid === undefined) throw new Error('holder has no pid');
    this.child = child;
    this.pid = child.pid;
    this.podIP = podIP;
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    child.stdin.on('error', () => {}); // the holder may be gone already when we write
  }

  static async start(
    tools: RuntimeTools,
    isolation: Isolation,
    podIP: string,
    hostname: string,
  ): Promise<PodHolder> {
    const namespaces = ['--net', '--uts', '--ipc'];
    if (isolation === 'user') namespaces.unshift('--user', '--map-root-user');
    const child = spawn(
      tools.setpriv,
      [
        '--pdeathsig',
        'SIGKILL',
        '--',
        tools.unshare,
        ...namespaces,
        '--',
        tools.bash,
        // stdin is a socket: without --norc, Debian's bash would think sshd started it and read ~/.bashrc.
        '--norc',
        '--noprofile',
        '-c',
        HOLDER_SCRIPT,
        'pod-holder',
        tools.ip,
        podIP,
        hostname,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } },
    );
    const holder = new PodHolder(child, podIP);
    const diagnostics: string[] = [];
    child.stderr.setEncoding('utf8').on('data', (text: string) => diagnostics.push(text));
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) => {
        const detail = diagnostics.join('').trim();
        reject(
          new ProcessRuntimeError('sandbox-failed', `pod sandbox: ${why}${detail ? `: ${detail}` : ''}`),
        );
      };
      const timer = setTimeout(() => {
        fail(`namespace holder not ready after ${START_TIMEOUT_MS / 1000}s`);
        child.kill('SIGKILL');
      }, START_TIMEOUT_MS);
      child.once('error', (error) => fail(`cannot start ${tools.unshare}: ${error.message}`));
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        fail(`namespace holder exited (${signal ?? `exit ${code}`})`);
      });
      lines.on('line', (line) => {
        if (line === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (line.startsWith('error ')) diagnostics.push(line.slice(6));
        else holder.onProbeAnswer(line);
      });
    });
    return holder;
  }

  private onProbeAnswer(line: string): void {
    const [id, ok] = line.split(' ');
    const done = this.probes.get(Number(id));
    if (!done) return;
    this.probes.delete(Number(id));
    done(ok === '1');
  }

  probeTcp(port: number, timeoutMs: number): Promise<boolean> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(false);
    const id = this.nextProbe++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.probes.delete(id);
        resolve(false);
      }, timeoutMs);
      this.probes.set(id, (ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
      this.child.stdin.write(`${id} ${port}\n`);
    });
  }

  /** Ends the holder; the pod's namespaces go with it once no container is left in them. */
  async stop(): Promise<void> {
    for (const done of this.probes.values()) done(false);
    this.probes.clear();
    this.child.stdin.end();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
