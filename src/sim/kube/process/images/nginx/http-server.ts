// A small static HTTP server standing in for nginx and Apache httpd in process mode. It serves
// NGINX_ROOT (default /usr/share/nginx/html, or /usr/local/apache2/htdocs for httpd) when that
// directory exists on the host, else the image's default welcome page; port NGINX_PORT (default 80).
// Access log lines go to stdout in nginx's combined format. Arguments (`-g 'daemon off;'`) are ignored.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import { extname, join, normalize } from 'node:path';
import { exitOnStopSignals, listenEverywhere } from '../listen.ts';

const flavor = process.argv[process.argv.indexOf('--flavor') + 1] === 'httpd' ? 'httpd' : 'nginx';
const root =
  process.env.NGINX_ROOT ?? (flavor === 'httpd' ? '/usr/local/apache2/htdocs' : '/usr/share/nginx/html');
const port = Number(process.env.NGINX_PORT ?? 80);

const welcome =
  flavor === 'httpd'
    ? '<html><body><h1>It works!</h1></body></html>\n'
    : '<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n' +
      '<p>If you see this page, the nginx web server is successfully installed and working.</p>\n' +
      "<p><em>Served by podrunner's process-mode stand-in.</em></p>\n</body>\n</html>\n";

const types: Record<string, string> = {
  '.html': 'text/html',
  '.txt': 'text/plain',
  '.json': 'application/json',
  '.css': 'text/css',
  '.js': 'application/javascript',
};

function accessLog(req: http.IncomingMessage, status: number, bytes: number): void {
  const when = new Date().toUTCString();
  const agent = req.headers['user-agent'] ?? '-';
  process.stdout.write(
    `${req.socket.remoteAddress ?? '-'} - - [${when}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${status} ${bytes} "-" "${agent}" "-"\n`,
  );
}

const server = http.createServer(async (req, res) => {
  const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/'));
  const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
  const software = flavor === 'httpd' ? 'Apache/2.4 (podrunner)' : 'nginx (podrunner)';
  try {
    const info = await stat(file);
    if (!info.isFile() || !file.startsWith(root)) throw new Error('not a file');
    res.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      server: software,
    });
    accessLog(req, 200, info.size);
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  } catch {
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html', server: software });
      accessLog(req, 200, Buffer.byteLength(welcome));
      res.end(req.method === 'HEAD' ? undefined : welcome);
    } else {
      const body =
        '<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>\n';
      res.writeHead(404, { 'content-type': 'text/html', server: software });
      accessLog(req, 404, Buffer.byteLength(body));
      res.end(req.method === 'HEAD' ? undefined : body);
    }
  }
});

listenEverywhere(server, port, (address) => {
  process.stderr.write(
    `${flavor} (podrunner process-mode stand-in): listening on ${address}, serving ${root}\n`,
  );
});
exitOnStopSignals(server);
