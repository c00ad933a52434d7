import { describe, expect, it } from 'vitest';
import {
  imageDerivedNames,
  probePort,
  type ServiceDefinition,
  serviceContainerNames,
  serviceEnvironment,
  serviceHostnames,
  splitAliases,
} from '../../../../src/kubernetes/render/services.ts';
import { VariableSet } from '../../../../src/kubernetes/render/variables.ts';
import { baseInput, fixture, jobVariables, refused, rendered, runnerConfig } from './support.ts';

const svc = (image: string, extra: Partial<ServiceDefinition> = {}): ServiceDefinition => ({
  image,
  aliases: [],
  entrypoint: [],
  command: [],
  variables: [],
  ports: [],
  pullPolicies: [],
  fromConfig: false,
  ...extra,
});

describe('service container names', () => {
  it('take the first valid unused alias, else svc-N counting only unnamed services', () => {
    const names = serviceContainerNames([
      svc('docker:dind', { aliases: ['docker'] }),
      svc('postgres:16'),
      svc('redis', { aliases: ['Cache_1', 'cache'] }),
      svc('mysql', { aliases: ['docker'] }),
      svc('x', { aliases: ['build'] }),
    ]);
    expect(names).toEqual(['docker', 'svc-0', 'cache', 'svc-1', 'svc-2']);
  });

  it('split aliases on spaces and commas', () => {
    expect(splitAliases('db, postgres  pg')).toEqual(['db', 'postgres', 'pg']);
    expect(splitAliases(null)).toEqual([]);
  });
});

describe('service hostnames', () => {
  it('derive names from the image like upstream, keeping only valid DNS-1123 subdomains', () => {
    expect(imageDerivedNames('docker:dind')).toEqual(['docker']);
    expect(imageDerivedNames('postgres:16-alpine')).toEqual(['postgres']);
    expect(imageDerivedNames('registry.example.com/team/pg:15')).toEqual([
      'registry.example.com__team__pg',
      'registry.example.com-team-pg',
    ]);
    expect(imageDerivedNames('localhost:5000/tools/redis:7')).toEqual([
      'localhost__tools__redis',
      'localhost-tools-redis',
    ]);
    expect(imageDerivedNames(`mongo@sha256:${'a'.repeat(64)}`)).toEqual(['mongo']);
    expect(imageDerivedNames('Not/Valid:Ref!')).toEqual([]);
    expect(
      serviceHostnames([
        svc('registry.example.com/team/pg:15', { aliases: ['db'] }),
        svc('docker:dind', { aliases: ['docker'] }),
      ]),
    ).toEqual(['registry.example.com-team-pg', 'db', 'docker']);
  });

  it('refuse an alias that is not a DNS-1123 subdomain, except on services with ports (skipped there)', () => {
    expect(serviceHostnames([svc('webide:1', { ports: [8080], aliases: ['ide', 'Not Valid'] })])).toEqual([
      'webide',
      'ide',
    ]);
    const e = refused(
      baseInput({
        runner: runnerConfig(
          'image = "a"\n[[runners.kubernetes.services]]\nname = "redis:7"\nalias = "Bad_Alias"',
        ),
      }),
    );
    expect(e.code).toBe('INVALID_SERVICE_ALIAS');
    expect(e.message).toMatch(
      /^provided host alias Bad_Alias for service redis:7 is invalid DNS\. a lowercase RFC 1123 subdomain/,
    );
  });

  it('map to 127.0.0.1 in hostAliases before the configured host_aliases', () => {
    const { job, raw } = fixture('job-full.json');
    const r = rendered(
      baseInput({
        job,
        rawPayload: raw,
        variables: jobVariables(job),
        runner: runnerConfig(
          'image = "a"\n[[runners.kubernetes.host_aliases]]\nip = "10.0.0.5"\nhostnames = ["mirror.internal"]',
        ),
      }),
    );
    expect(r.pod.spec!.hostAliases).toEqual([
      { ip: '127.0.0.1', hostnames: ['docker', 'postgres', 'db'] },
      { ip: '10.0.0.5', hostnames: ['mirror.internal'] },
    ]);
  });
});

describe('startup probe ports', () => {
  const env = (s: ServiceDefinition, job: Record<string, string> = {}) =>
    serviceEnvironment(
      s,
      new VariableSet(Object.entries(job).map(([key, value]) => ({ key, value, public: true }))),
    );

  it('use the payload ports, then HEALTHCHECK_TCP_PORT, then well-known images', () => {
    expect(probePort(svc('myimage', { ports: [8080, 9090] }), [])).toBe(8080);
    const hc = svc('myimage', {
      variables: [
        { key: 'HEALTHCHECK_TCP_PORT', value: '$PORT' },
        { key: 'PORT', value: '7000' },
      ],
    });
    expect(probePort(hc, env(hc))).toBe(7000);
    for (const [image, port] of [
      ['postgres:16', 5432],
      ['bitnami/postgresql:16', 5432],
      ['mysql:8', 3306],
      ['mariadb:11', 3306],
      ['redis:7-alpine', 6379],
      ['mongo:7', 27017],
      ['rabbitmq:3-management', 5672],
      ['docker.elastic.co/elasticsearch/elasticsearch:8.13.0', 9200],
      ['memcached:1.6', 11211],
    ] as const) {
      expect(probePort(svc(image), []), image).toBe(port);
    }
    expect(probePort(svc('my/app:1'), [])).toBeUndefined();
  });

  it('opt out with HEALTHCHECK_TCP_PORT set to "" and ignore a port that is not one', () => {
    const none = svc('postgres:16', { variables: [{ key: 'HEALTHCHECK_TCP_PORT', value: '' }] });
    expect(probePort(none, env(none))).toBeUndefined();
    const bad = svc('postgres:16', { variables: [{ key: 'HEALTHCHECK_TCP_PORT', value: '99999' }] });
    expect(probePort(bad, env(bad))).toBeUndefined();
  });

  it('wait on 2375 for docker:dind without TLS and 2376 with it', () => {
    const dind = svc('docker:27-dind');
    expect(probePort(dind, env(dind))).toBe(2376);
    expect(probePort(dind, env(dind, { DOCKER_TLS_CERTDIR: '' }))).toBe(2375);
    expect(probePort(svc('docker:dind', { command: ['--tls=false'] }), [])).toBe(2375);
    const own = svc('docker:dind-rootless', { variables: [{ key: 'DOCKER_TLS_CERTDIR', value: '' }] });
    expect(probePort(own, env(own, { DOCKER_TLS_CERTDIR: '/certs' }))).toBe(2375);
    expect(probePort(svc('docker:27'), [])).toBeUndefined();
  });
});

describe('service containers', () => {
  const { job, raw } = fixture('job-full.json');
  const input = (nativeSidecars: boolean) =>
    baseInput({ job, rawPayload: raw, variables: jobVariables(job), nativeSidecars, uploader: true });

  it('run as native sidecars after the helper, gated by a TCP startup probe', () => {
    const r = rendered(input(true));
    const spec = r.pod.spec!;
    expect(spec.initContainers!.map((c) => c.name)).toEqual(['helper', 'docker', 'db']);
    expect(spec.containers.map((c) => c.name)).toEqual(['build', 'uploader']);
    const docker = spec.initContainers![1]!;
    expect(docker).toMatchObject({
      image: 'docker:27-dind',
      args: ['--tls=false'],
      restartPolicy: 'Always',
      startupProbe: { tcpSocket: { port: 2375 }, periodSeconds: 1, failureThreshold: 180 },
    });
    expect(docker.command).toBeUndefined();
    expect(spec.initContainers![2]!.startupProbe?.tcpSocket?.port).toBe(5432);
    expect(r.services).toEqual([
      { container: 'docker', image: 'docker:27-dind', aliases: ['docker'], probePort: 2375 },
      { container: 'db', image: 'postgres:16-alpine', aliases: ['db', 'postgres'], probePort: 5432 },
    ]);
  });

  it('fall back to plain containers after build and uploader, with a readiness probe only', () => {
    const r = rendered(input(false));
    const spec = r.pod.spec!;
    expect(spec.initContainers!.map((c) => c.name)).toEqual(['helper']);
    expect(spec.containers.map((c) => c.name)).toEqual(['build', 'uploader', 'docker', 'db']);
    const docker = spec.containers[2]!;
    expect(docker.restartPolicy).toBeUndefined();
    expect(docker.startupProbe).toBeUndefined();
    expect(docker.readinessProbe?.tcpSocket?.port).toBe(2375);
    expect(r.log.join('\n')).toMatch(/plain containers/);
  });

  it('get public job variables and their own variables as references into the job Secret', () => {
    const r = rendered(input(true));
    const db = r.pod.spec!.initContainers![2]!;
    const name = r.pod.metadata!.name!;
    const env = Object.fromEntries(db.env!.map((e) => [e.name, e]));
    expect(env.POSTGRES_PASSWORD).toEqual({
      name: 'POSTGRES_PASSWORD',
      valueFrom: { secretKeyRef: { name, key: 'svc.db.POSTGRES_PASSWORD' } },
    });
    expect(env.CI_JOB_ID?.valueFrom?.secretKeyRef?.key).toBe('env.CI_JOB_ID');
    expect(env.CI_JOB_TOKEN).toBeUndefined();
    expect(env.DEPLOY_API_TOKEN).toBeUndefined();
    expect(db.env!.every((e) => e.value === undefined)).toBe(true);
    const data = r.secret.data!;
    const decode = (k: string) => Buffer.from(data[k]!, 'base64').toString('utf8');
    expect(decode('svc.db.POSTGRES_PASSWORD')).toBe('ci-only-pass');
    expect(decode('env.CI_JOB_ID')).toBe('90342');
    expect(decode('svc.docker.DOCKER_TLS_CERTDIR')).toBe('');
  });

  it('take config services first, with entrypoint, command and environment', () => {
    const r = rendered(
      baseInput({
        runner: runnerConfig(
          [
            'image = "alpine"',
            '[[runners.kubernetes.services]]',
            'name = "redis:7"',
            'alias = "cache"',
            'entrypoint = ["redis-server"]',
            'command = ["--port", "6380"]',
            'environment = ["HEALTHCHECK_TCP_PORT=6380", "MODE=ci"]',
          ].join('\n'),
        ),
      }),
    );
    const cache = r.pod.spec!.initContainers![1]!;
    expect(cache).toMatchObject({ name: 'cache', command: ['redis-server'], args: ['--port', '6380'] });
    expect(cache.startupProbe?.tcpSocket?.port).toBe(6380);
    expect(cache.env?.find((e) => e.name === 'MODE')?.valueFrom?.secretKeyRef?.key).toBe('svc.cache.MODE');
  });

  it('expose payload ports as container ports', () => {
    const { job: base, raw: rawBase } = fixture('job-minimal.json');
    const job = {
      ...base,
      services: [
        {
          name: 'webide:1',
          alias: 'ide',
          entrypoint: [],
          command: [],
          variables: [],
          executor_opts: {},
          pull_policy: [],
          ports: [{ number: 8080 }],
        },
      ],
    };
    const r = rendered(baseInput({ job, rawPayload: rawBase }));
    expect(r.pod.spec!.initContainers![1]!.ports).toEqual([{ containerPort: 8080 }]);
    expect(r.pod.spec!.hostAliases).toEqual([{ ip: '127.0.0.1', hostnames: ['webide', 'ide'] }]);
  });

  it('make a service with alias web reachable as localhost and web, started before the build', () => {
    const { job: base, raw } = fixture('job-minimal.json');
    const job = {
      ...base,
      services: [
        {
          name: 'registry.example.com/tools/echo-server:1',
          alias: 'web',
          entrypoint: [],
          command: [],
          variables: [{ key: 'HEALTHCHECK_TCP_PORT', value: '8080' }],
          executor_opts: {},
          pull_policy: [],
          ports: [],
        },
      ],
    };
    const spec = rendered(baseInput({ job, rawPayload: raw })).pod.spec!;
    expect(spec.hostAliases![0]!.hostnames).toContain('web');
    expect(spec.initContainers!.map((c) => c.name)).toEqual(['helper', 'web']);
    expect(spec.initContainers![1]).toMatchObject({
      restartPolicy: 'Always',
      startupProbe: { tcpSocket: { port: 8080 } },
    });
    expect(spec.containers.map((c) => c.name)).toEqual(['build']);
  });
});
