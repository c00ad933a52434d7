// The manager image, where Docker is available: it builds, runs `podrunner` as a non-root user under
// tini, stops with SIGQUIT (which drains the manager), and runs the chart's entrypoint on a
// read-only root filesystem as gitlab-runner's chart user (uid 100).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMapData, render } from '../integration/chart/render.ts';
import { buildNetworkFlag, dockerAvailable, sh } from '../support/docker.ts';

const missing = await dockerAvailable();
if (missing) console.warn(`skipping the manager image tests: ${missing}`);

const image = `podrunner-e2e/manager:${randomBytes(4).toString('hex')}`;

describe.skipIf(missing !== undefined)('images/manager/Dockerfile', () => {
  const dirs: string[] = [];

  beforeAll(async () => {
    await sh(`docker build${buildNetworkFlag()} -f images/manager/Dockerfile -t ${image} .`, {
      timeoutMs: 900_000,
    });
  }, 900_000);

  afterAll(async () => {
    await sh(`docker rmi -f ${image}`).catch(() => '');
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('has podrunner on PATH, run by Node 22 as a non-root user', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default as {
      version: string;
    };
    expect((await sh(`docker run --rm --network none ${image} podrunner --version`)).trim()).toBe(version);
    expect((await sh(`docker run --rm --network none ${image} node --version`)).trim()).toMatch(/^v22\./);
    expect((await sh(`docker run --rm --network none ${image} id -u`)).trim()).toBe('1000');
  });

  it('runs tini as PID 1 and stops with SIGQUIT, forwarded to the manager', async () => {
    const config = await sh(
      `docker inspect -f '{{.Config.StopSignal}} {{json .Config.Entrypoint}}' ${image}`,
    );
    expect(config.trim()).toBe('SIGQUIT ["/usr/bin/tini","-g","--"]');
    const name = `podrunner-e2e-stop-${randomBytes(4).toString('hex')}`;
    await sh(
      `docker run -d --name ${name} --network none ${image} sh -c 'trap "echo drained-on-QUIT; exit 0" QUIT; echo up; while :; do sleep 1; done'`,
    );
    try {
      await sh(`until docker logs ${name} 2>&1 | grep -q up; do sleep 0.2; done`, { timeoutMs: 30_000 });
      await sh(`docker stop -t 30 ${name}`);
      expect(await sh(`docker logs ${name}`)).toContain('drained-on-QUIT');
      expect((await sh(`docker inspect -f '{{.State.ExitCode}}' ${name}`)).trim()).toBe('0');
    } finally {
      await sh(`docker rm -f ${name}`).catch(() => '');
    }
  });

  it("runs the chart's entrypoint read-only as uid 100 up to registration", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'podrunner-image-'));
    dirs.push(dir);
    const data = configMapData(await render('podrunner', 'ci'));
    await sh(`mkdir -p ${dir}/configmaps ${dir}/secrets && chmod 755 ${dir}`);
    for (const [key, value] of Object.entries(data)) await writeFile(join(dir, 'configmaps', key), value);
    await writeFile(join(dir, 'secrets', 'runner-token'), 'glrt-e2e');
    await sh(`chmod -R a+rX ${dir}`);
    // GitLab is unreachable (no network): registration fails once and the script says so.
    const output = await sh(
      `docker run --rm --network none --read-only --user 100:65533 --tmpfs /etc/podrunner:uid=100,gid=65533 --tmpfs /tmp ` +
        `-v ${dir}/configmaps:/configmaps:ro -v ${dir}/secrets:/secrets:ro -e CI_SERVER_URL=http://127.0.0.1:9 ` +
        `-e REGISTER_ATTEMPTS=1 ${image} /bin/sh /configmaps/entrypoint || true`,
    );
    expect(output).toContain('podrunner: registration failed 1 times; giving up');
  });

  it('stays within its size budget', async () => {
    const bytes = Number((await sh(`docker image inspect -f '{{.Size}}' ${image}`)).trim());
    console.log(`manager image: ${(bytes / 1e6).toFixed(0)} MB uncompressed`);
    expect(bytes).toBeLessThan(350e6);
  });
});
