// A Docker Engine API stub standing in for `docker:dind` in process mode: Docker cannot run here, but a
// job's service must come up, pass its TCP startup probe on 2375 and answer the calls a smoke test
// makes (`curl http://docker:2375/_ping`, `/version`, `/info`). Everything else gets a clear 501.
// Always plain TCP on 2375 (or `--host=tcp://ADDR:PORT`); DOCKER_TLS_CERTDIR is not honoured.
import http from 'node:http';
import { arch, release } from 'node:os';
import { exitOnStopSignals, listenEverywhere } from '../listen.ts';

const API_VERSION = '1.45';
const ENGINE_VERSION = '26.1.0';

function portFromArgs(args: string[]): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const value = arg.startsWith('--host=')
      ? arg.slice(7)
      : arg === '-H' || arg === '--host'
        ? args[i + 1]
        : undefined;
    const match = value?.match(/^tcp:\/\/[^:]*:(\d+)$/);
    if (match) return Number(match[1]);
  }
  return 2375;
}

const goArch = arch() === 'x64' ? 'amd64' : arch();
const headers = {
  'api-version': API_VERSION,
  'docker-experimental': 'false',
  ostype: 'linux',
  server: `Docker/${ENGINE_VERSION} (linux)`,
};

const version = {
  Platform: { Name: 'podrunner process-mode Docker API stub' },
  Version: ENGINE_VERSION,
  ApiVersion: API_VERSION,
  MinAPIVersion: '1.24',
  GitCommit: 'podrunner',
  GoVersion: 'go1.22',
  Os: 'linux',
  Arch: goArch,
  KernelVersion: release(),
  BuildTime: '2024-01-01T00:00:00.000000000+00:00',
  Components: [{ Name: 'Engine', Version: ENGINE_VERSION, Details: { ApiVersion: API_VERSION } }],
};

const info = {
  ID: 'podrunner-process-mode-stub',
  Containers: 0,
  ContainersRunning: 0,
  Images: 0,
  Driver: 'none',
  ServerVersion: ENGINE_VERSION,
  OperatingSystem: 'podrunner process-mode Docker API stub (runs no containers)',
  OSType: 'linux',
  Architecture: goArch,
  NCPU: 1,
  Name: process.env.HOSTNAME ?? 'dind',
};

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]?.replace(/^\/v\d+\.\d+/, '') ?? '/';
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { ...headers, 'content-type': 'application/json' });
    res.end(`${JSON.stringify(body)}\n`);
  };
  if (path === '/_ping' && (req.method === 'GET' || req.method === 'HEAD')) {
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : 'OK');
  } else if (path === '/version' && req.method === 'GET') {
    json(200, version);
  } else if (path === '/info' && req.method === 'GET') {
    json(200, info);
  } else {
    json(501, {
      message: `podrunner's process-mode docker:dind stand-in runs no containers: ${req.method} ${req.url} is not supported`,
    });
  }
});

const port = portFromArgs(process.argv.slice(2));
listenEverywhere(server, port, (address) => {
  process.stderr.write(
    `time="${new Date().toISOString()}" level=info msg="API listen on ${address}" (podrunner process-mode Docker API stub: runs no containers)\n`,
  );
});
exitOnStopSignals(server);
