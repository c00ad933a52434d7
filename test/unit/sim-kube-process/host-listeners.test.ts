import { describe, expect, it } from 'vitest';
import { parseProcNetTcp, planRelays } from '../../../src/sim/kube/process/host-listeners.ts';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 3500007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
   3: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 100 0 0 10 0
   4: 0A0011AC:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1 0000000000000000 100 0 0 10 0
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1388 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:2382 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7 1 0000000000000000 100 0 0 10 0
`;

describe('host listeners', () => {
  it('reads LISTEN sockets of /proc/net/tcp and tcp6', () => {
    expect(parseProcNetTcp(TCP, 4)).toEqual([
      { address: '127.0.0.1', family: 4, port: 8080 },
      { address: '0.0.0.0', family: 4, port: 2024 },
      { address: '127.0.0.53', family: 4, port: 53 },
      { address: '172.17.0.10', family: 4, port: 8081 },
    ]);
    expect(parseProcNetTcp(TCP6, 6)).toEqual([
      { address: '::1', family: 6, port: 5000 },
      { address: '::', family: 6, port: 9090 },
    ]);
  });

  it('relays loopback and any-address ports at 127.0.0.1 and [::1], to the family the host listens on', () => {
    const listeners = [...parseProcNetTcp(TCP, 4), ...parseProcNetTcp(TCP6, 6)];
    expect(planRelays(listeners, new Set([2024]))).toEqual([
      { podAddress: '127.0.0.53', hostAddress: '127.0.0.53', port: 53 },
      { podAddress: '127.0.0.1', hostAddress: '::1', port: 5000 },
      { podAddress: '::1', hostAddress: '::1', port: 5000 },
      { podAddress: '127.0.0.1', hostAddress: '127.0.0.1', port: 8080 },
      { podAddress: '::1', hostAddress: '127.0.0.1', port: 8080 },
      { podAddress: '127.0.0.1', hostAddress: '::1', port: 9090 },
      { podAddress: '::1', hostAddress: '::1', port: 9090 },
    ]);
  });
});
