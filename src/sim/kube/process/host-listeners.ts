// Which TCP ports the host listens on where a local client can reach them (loopback or any address),
// read from /proc/net/tcp and /proc/net/tcp6 of the runtime's own (the host's) network namespace.
import { readFile } from 'node:fs/promises';

export interface HostListener {
  /** Dotted IPv4 or compressed IPv6 text, e.g. `127.0.0.1`, `0.0.0.0`, `::1`, `::`. */
  address: string;
  family: 4 | 6;
  port: number;
}

/** One relay inside a pod: a listener at `podAddress:port` that forwards to `hostAddress:port`. */
export interface RelayPlan {
  podAddress: string;
  hostAddress: string;
  port: number;
}

const LISTEN = '0A';

function ipv4FromProcHex(hex: string): string {
  // One 32-bit word in host (little-endian) byte order.
  const bytes = [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return bytes.join('.');
}

function ipv6FromProcHex(hex: string): string {
  const words: string[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    const le = [6, 4, 2, 0].map((i) => word.slice(i, i + 2)).join('');
    words.push(le.slice(0, 4), le.slice(4, 8));
  }
  const groups = words.map((g) => Number.parseInt(g, 16));
  // IPv4-mapped (::ffff:a.b.c.d) reads better as dotted text.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const a = groups[6] ?? 0;
    const b = groups[7] ?? 0;
    return `::ffff:${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  return compressIPv6(groups);
}

function compressIPv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

/** Parses the text of /proc/net/tcp (family 4) or /proc/net/tcp6 (family 6): LISTEN sockets only. */
export function parseProcNetTcp(text: string, family: 4 | 6): HostListener[] {
  const out: HostListener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    if (!local || fields[3] !== LISTEN) continue;
    const [addressHex, portHex] = local.split(':');
    if (!addressHex || !portHex) continue;
    const address = family === 4 ? ipv4FromProcHex(addressHex) : ipv6FromProcHex(addressHex);
    out.push({ address, family, port: Number.parseInt(portHex, 16) });
  }
  return out;
}

export async function readHostListeners(procNet = '/proc/net'): Promise<HostListener[]> {
  const read = async (file: string, family: 4 | 6) => {
    try {
      return parseProcNetTcp(await readFile(`${procNet}/${file}`, 'utf8'), family);
    } catch {
      return []; // no IPv6 on this host, or no procfs
    }
  };
  return [...(await read('tcp', 4)), ...(await read('tcp6', 6))];
}

const isLoopback = (l: HostListener) =>
  l.family === 4 ? l.address.startsWith('127.') : l.address === '::1' || l.address.startsWith('::ffff:127.');
const isAny = (l: HostListener) => l.address === '0.0.0.0' || l.address === '::';

/**
 * The relays that make host services reachable from inside a pod at the address a host client
 * would use: `127.0.0.1:P` and `[::1]:P` for listeners on loopback or any address (forwarded to the
 * host family that listens), other 127.x addresses as themselves. Ports in `exclude` get no relay.
 */
export function planRelays(listeners: HostListener[], exclude: ReadonlySet<number>): RelayPlan[] {
  const plans = new Map<string, RelayPlan>();
  const add = (podAddress: string, hostAddress: string, port: number) => {
    const key = `${podAddress}|${port}`;
    if (!plans.has(key)) plans.set(key, { podAddress, hostAddress, port });
  };
  const reachable = listeners.filter((l) => !exclude.has(l.port) && (isLoopback(l) || isAny(l)));
  const ports = new Set(reachable.map((l) => l.port));
  for (const port of [...ports].sort((a, b) => a - b)) {
    const here = reachable.filter((l) => l.port === port);
    const v4 = here.some((l) => l.family === 4 && (l.address === '127.0.0.1' || l.address === '0.0.0.0'));
    const v6 = here.some((l) => l.family === 6 && (l.address === '::1' || l.address === '::'));
    const mapped = here.some((l) => l.address === '::ffff:127.0.0.1');
    if (v4 || v6 || mapped) {
      add('127.0.0.1', v4 || mapped ? '127.0.0.1' : '::1', port);
      add('::1', v6 ? '::1' : '127.0.0.1', port);
    }
    for (const l of here) {
      if (l.family === 4 && l.address.startsWith('127.') && l.address !== '127.0.0.1') {
        add(l.address, l.address, port);
      }
    }
  }
  return [...plans.values()];
}
