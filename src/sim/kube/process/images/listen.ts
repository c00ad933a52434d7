// Shared by the kits' servers: listen on every address of the pod (dual-stack, else IPv4) and end
// cleanly on SIGTERM/SIGINT/SIGQUIT like the real daemons do.
import type { Server } from 'node:http';

export function listenEverywhere(server: Server, port: number, onListening: (address: string) => void): void {
  server.once('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EAFNOSUPPORT' && error.code !== 'EADDRNOTAVAIL') throw error;
    server.listen({ port, host: '0.0.0.0' }, () => onListening(`0.0.0.0:${port}`));
  });
  server.listen({ port, host: '::' }, () => onListening(`[::]:${port}`));
}

export function exitOnStopSignals(server: Server, onStop: () => void = () => {}): void {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) {
    process.on(signal, () => {
      onStop();
      server.close(() => process.exit(0));
      server.closeAllConnections();
      setTimeout(() => process.exit(0), 1000).unref();
    });
  }
}
