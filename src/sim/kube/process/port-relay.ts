// Host services inside a pod: for each planned relay the pod gets a listener at the address and port
// a host client would use (127.0.0.1:P, [::1]:P); every connection to it is piped to the same port on
// the host. The listeners are made inside the pod's network namespace by a short-lived helper
// (LISTEN_PROGRAM) and then owned by the runtime, so no process stays behind per pod.
import { spawn } from 'node:child_process';
import net from 'node:net';
import type { RelayPlan } from './host-listeners.ts';

/**
 * Run with `node -e` inside the pod's network namespace (via nsenter): opens the listening sockets
 * there, hands each to the runtime over Node's IPC channel, then exits when told to. A socket stays
 * in the namespace it was created in, whoever accepts on it later. Plain JavaScript so that Node
 * starts it without loading its TypeScript stripper (a few hundred ms on a busy machine).
 * Argument: JSON `[{ "address": "127.0.0.1", "port": 8080 }, …]`.
 */
const LISTEN_PROGRAM = `
const net = require('node:net');
process.on('message', (m) => { if (m === 'exit') process.exit(0); });
process.on('disconnect', () => process.exit(0));
for (const { address, port } of JSON.parse(process.argv[1])) {
  const server = net.createServer();
  server.once('error', (e) => process.send({ address, port, ok: false, error: e.code || e.message }));
  server.listen({ host: address, port, exclusive: true }, () => process.send({ address, port, ok: true }, server));
}
`;

/** Generous: only a hung system gets there (the pod then has no host relays, and a warning is logged). */
const HELPER_TIMEOUT_MS = 30_000;

interface ListenAnswer {
  address: string;
  port: number;
  ok: boolean;
  error?: string;
}

export interface RelayFailure {
  address: string;
  port: number;
  error: string;
}

export class PortRelays {
  private readonly servers = new Map<string, { plan: RelayPlan; server: net.Server }>();
  private readonly sockets = new Set<net.Socket>();
  readonly failures: RelayFailure[] = [];

  /** `enter` is the command prefix that runs a program in the pod's network namespace. */
  static async open(enter: string[], plans: RelayPlan[]): Promise<PortRelays> {
    const relays = new PortRelays();
    if (plans.length === 0) return relays;
    const wanted = plans.map((p) => ({ address: p.podAddress, port: p.port }));
    const [command, ...prefix] = enter;
    if (!command) return relays;
    const child = spawn(
      command,
      [...prefix, process.execPath, '-e', LISTEN_PROGRAM, JSON.stringify(wanted)],
      {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      },
    );
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    const byKey = new Map(plans.map((p) => [`${p.podAddress}|${p.port}`, p]));
    await new Promise<void>((resolve) => {
      let answered = 0;
      const timer = setTimeout(() => {
        relays.failures.push({
          address: '*',
          port: 0,
          error: `listener helper hung for ${HELPER_TIMEOUT_MS / 1000}s`,
        });
        child.kill('SIGKILL');
        resolve();
      }, HELPER_TIMEOUT_MS);
      child.once('exit', () => clearTimeout(timer));
      const done = () => {
        clearTimeout(timer);
        if (child.connected) child.send('exit');
        resolve();
      };
      child.on('message', (message: ListenAnswer, handle: unknown) => {
        const plan = byKey.get(`${message.address}|${message.port}`);
        if (plan && message.ok && handle instanceof net.Server) relays.adopt(plan, handle);
        else
          relays.failures.push({ address: message.address, port: message.port, error: message.error ?? '?' });
        if (++answered === plans.length) done();
      });
      child.once('error', (error) => {
        relays.failures.push({ address: '*', port: 0, error: error.message });
        resolve();
      });
      child.once('exit', (code) => {
        if (answered < plans.length) {
          relays.failures.push({
            address: '*',
            port: 0,
            error: `listener helper exited ${code}: ${stderr.trim()}`,
          });
        }
        resolve();
      });
    });
    return relays;
  }

  private adopt(plan: RelayPlan, server: net.Server): void {
    server.on('connection', (inside) => this.relay(inside, plan));
    server.on('error', () => {});
    this.servers.set(`${plan.podAddress}|${plan.port}`, { plan, server });
  }

  private relay(inside: net.Socket, plan: RelayPlan): void {
    const outside = net.connect({ host: plan.hostAddress, port: plan.port });
    this.sockets.add(inside);
    this.sockets.add(outside);
    const end = () => {
      inside.destroy();
      outside.destroy();
      this.sockets.delete(inside);
      this.sockets.delete(outside);
    };
    inside.on('error', end).on('close', end);
    outside.on('error', end).on('close', end);
    inside.pipe(outside);
    outside.pipe(inside);
  }

  ports(): number[] {
    return [...new Set([...this.servers.values()].map((s) => s.plan.port))].sort((a, b) => a - b);
  }

  /**
   * Stops relaying these ports: a container of the pod is going to listen on them itself. The
   * listening socket is closed at once (connections already relayed go on).
   */
  release(ports: Iterable<number>): void {
    const wanted = new Set(ports);
    for (const [key, { plan, server }] of this.servers) {
      if (!wanted.has(plan.port)) continue;
      this.servers.delete(key);
      server.close();
    }
  }

  close(): void {
    this.release(this.ports());
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}
