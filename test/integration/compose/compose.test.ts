// docker-compose.yml as CI checks it: `docker-compose config -q` (Debian's docker-compose validates
// offline), and the pieces of the stack agreeing with each other.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const run = promisify(execFile);

const compose = await run('docker-compose', ['version']).then(
  () => true,
  () => false,
);
if (!compose) {
  console.warn(
    'skipping `docker-compose config -q`: docker-compose is not installed (apt-get install docker-compose)',
  );
}

describe.skipIf(!compose)('docker-compose config', () => {
  it('validates docker-compose.yml', async () => {
    const { stdout, stderr } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    expect(stdout).toBe('');
    expect(stderr).toBe('');
  });

  it('rejects a broken compose file (the check can fail)', async () => {
    await expect(
      run('docker-compose', ['-f', 'test/integration/compose/broken-compose.yml', 'config', '-q']),
    ).rejects.toThrow();
  });
});

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string }> | string[];
  depends_on?: Record<string, { condition: string }>;
}

const file = parseYaml(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = file.services;

function service(name: string): Service {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no ${name} service`);
  return found;
}

function address(name: string): string | undefined {
  const networks = service(name).networks;
  return Array.isArray(networks) ? undefined : networks?.devnet?.ipv4_address;
}

describe('the compose stack', () => {
  const template = parseToml(readFileSync('dev/compose/config.template.toml', 'utf8')) as {
    runners: {
      clone_url: string;
      kubernetes: {
        namespace: string;
        privileged: boolean;
        host_aliases: { ip: string; hostnames: string[] }[];
      };
    }[];
  };
  const runner = template.runners[0];
  const manifests = parseAllDocuments(readFileSync('dev/compose/k3s/podrunner-dev.yaml', 'utf8')).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string }; data?: Record<string, string> },
  );

  it('has GitLab CE, k3s and the podrunner manager', () => {
    expect(Object.keys(services).sort()).toEqual(['gitlab', 'k3s', 'podrunner']);
    expect(service('gitlab').image).toMatch(/^gitlab\/gitlab-ce:/);
    expect(service('k3s').image).toMatch(/^rancher\/k3s:/);
    expect(service('podrunner').build).toEqual({ context: '.', dockerfile: 'images/manager/Dockerfile' });
    expect(existsSync('images/manager/Dockerfile')).toBe(true);
  });

  it('starts the manager through the bootstrap once GitLab and k3s are healthy', () => {
    const manager = service('podrunner');
    expect(manager.depends_on).toEqual({
      gitlab: { condition: 'service_healthy' },
      k3s: { condition: 'service_healthy' },
    });
    expect(manager.command).toEqual(['/app/scripts/bootstrap-runner.sh']);
    accessSync('scripts/bootstrap-runner.sh', constants.X_OK);
    // The admin token GitLab creates after reconfigure is the one the bootstrap presents.
    expect(manager.environment?.GITLAB_ADMIN_TOKEN).toBe(service('gitlab').environment?.GITLAB_ADMIN_TOKEN);
    // `$$` so that compose leaves the expansion to the shell that runs the script in the container.
    expect(service('gitlab').environment?.GITLAB_POST_RECONFIGURE_SCRIPT).toContain(
      "set_token('$${GITLAB_ADMIN_TOKEN}')",
    );
  });

  it('lets job pods reach GitLab by name, at its fixed address', () => {
    const gitlabIp = address('gitlab');
    expect(gitlabIp).toBe('172.30.0.10');
    expect(runner?.clone_url).toBe('http://gitlab');
    expect(service('podrunner').environment?.GITLAB_URL).toBe('http://gitlab');
    expect(runner?.kubernetes.host_aliases).toEqual([{ ip: gitlabIp, hostnames: ['gitlab'] }]);
    const coredns = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'coredns-custom');
    expect(coredns?.data?.['gitlab.server']).toContain(`${gitlabIp} gitlab`);
  });

  it('runs jobs in a namespace k3s creates, privileged for docker:dind', () => {
    const namespace = manifests.find((m) => m.kind === 'Namespace');
    expect(runner?.kubernetes.namespace).toBe(namespace?.metadata.name);
    expect(runner?.kubernetes.privileged).toBe(true);
  });

  it("points the manager at k3s by a name in k3s's certificate", () => {
    const server = new URL(service('podrunner').environment?.KUBE_SERVER ?? '');
    expect(service('k3s').command).toContain(`--tls-san=${server.hostname}`);
    const mounts = service('podrunner').volumes ?? [];
    const source = service('podrunner').environment?.KUBECONFIG_SOURCE ?? '';
    expect(mounts.some((m) => m.startsWith('k3s-output:') && source.startsWith(m.split(':')[1] ?? '-'))).toBe(
      true,
    );
  });
});
