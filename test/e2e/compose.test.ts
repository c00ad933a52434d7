// The compose development stack as README.md starts it: GitLab CE, k3s and the manager, with the
// runner created by the bootstrap. GitLab's first boot takes 5-15 minutes and needs the images from
// Docker Hub, so the suite runs only when asked (PODRUNNER_E2E_COMPOSE=1) on a machine with Docker.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerAvailable, sh } from '../support/docker.ts';

const reason =
  (await dockerAvailable()) ??
  (await sh('docker compose version').then(
    () => undefined,
    () => 'the Docker compose plugin is not installed',
  )) ??
  (process.env.PODRUNNER_E2E_COMPOSE === '1'
    ? undefined
    : 'set PODRUNNER_E2E_COMPOSE=1 to boot GitLab CE (5-15 min)');
if (reason) console.warn(`skipping the compose e2e suite: ${reason}`);

describe.skipIf(reason !== undefined)('the compose stack', () => {
  const hadEnv = existsSync('.env');

  afterAll(async () => {
    await sh('scripts/dev-stack.sh down').catch(() => '');
    await sh('docker compose down -v').catch(() => '');
    if (!hadEnv) await rm('.env', { force: true });
  }, 600_000);

  it('boots GitLab, k3s and a registered, ready manager', async () => {
    await sh('scripts/dev-stack.sh up', { timeoutMs: 1_800_000 });
    await sh(
      'until [ "$(docker inspect -f "{{.State.Health.Status}}" "$(docker compose ps -q podrunner)")" = healthy ]; do sleep 10; done',
      { timeoutMs: 1_800_000 },
    );
    expect(await sh('docker compose logs podrunner')).toContain('runner registered');
  }, 3_600_000);
});
