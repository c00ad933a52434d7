import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { renderContainerInit } from '../../../src/sim/kube/process/container-init.ts';
import { shQuote } from '../../../src/sim/kube/process/shell-quote.ts';

const tools = {
  mount: '/usr/bin/mount',
  umount: '/usr/bin/umount',
  mkdir: '/usr/bin/mkdir',
  ln: '/usr/bin/ln',
  chown: '/usr/bin/chown',
  env: '/usr/bin/env',
  setpriv: '/usr/bin/setpriv',
  envDefaultSignal: true,
};

describe('container init script', () => {
  it('quotes every path from the pod spec', () => {
    expect(shQuote("/a b/it's")).toBe(`'/a b/it'\\''s'`);
    expect(shQuote('/plain/path-1.2')).toBe('/plain/path-1.2');
    const script = renderContainerInit({
      tools,
      label: 'container x',
      devStaging: '/state/dev',
      shmSource: '/state/shm',
      mounts: [{ source: '/state/v', target: "/data/$(reboot) it's", readOnly: true, kind: 'dir' }],
      workingDir: '/w`id`',
      user: { uid: 1000, gid: 1000, initGroups: false },
    });
    expect(script).toContain(`--rbind /state/v '/data/$(reboot) it'\\''s'`);
    expect(script).toContain(`cd '/w\`id\`'`);
    expect(script).toContain('--reuid=1000 --regid=1000 --clear-groups --');
    // The shell accepts it.
    expect(spawnSync('sh', ['-n'], { input: script }).status).toBe(0);
  });
});
