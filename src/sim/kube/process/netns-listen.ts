// Run by the runtime inside a pod's network namespace (via nsenter): opens listening sockets there
// and hands them to the runtime over Node's IPC channel, then exits. The runtime, which lives in the
// host's network namespace, accepts on them from then on: a socket stays in the namespace it was
// created in. Argument: JSON `[{ "address": "127.0.0.1", "port": 8080 }, …]`.
import net from 'node:net';

interface Wanted {
  address: string;
  port: number;
}

const wanted = JSON.parse(process.argv[2] ?? '[]') as Wanted[];
const send = process.send?.bind(process);
if (!send) throw new Error('netns-listen needs an IPC channel');

process.on('message', (message) => {
  if (message === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));

for (const { address, port } of wanted) {
  const server = net.createServer();
  server.once('error', (error: NodeJS.ErrnoException) => {
    send({ address, port, ok: false, error: error.code ?? error.message });
  });
  server.listen({ host: address, port, exclusive: true, ipv6Only: address.includes(':') }, () => {
    send({ address, port, ok: true }, server);
  });
}
