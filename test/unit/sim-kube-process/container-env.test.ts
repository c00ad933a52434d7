import { describe, expect, it } from 'vitest';
import {
  containerEnv,
  containerUser,
  parsePasswd,
  splitLaunchEnv,
} from '../../../src/sim/kube/process/container-env.ts';

const passwd = parsePasswd(
  'root:x:0:0:root:/root:/bin/bash\nci:x:1000:1001::/home/ci:/bin/sh\nbroken line\n',
);
const image = {
  entrypoint: [],
  cmd: ['sh'],
  env: { PATH: '/image/bin', A: 'image' },
  workingDir: '/',
  ports: [],
};

describe('container env and user', () => {
  it('layers HOSTNAME, the image env and the container env, the container winning', () => {
    const env = containerEnv(
      image,
      'pod-1',
      [
        { name: 'A', value: 'container' },
        { name: 'B', value: 'b' },
      ],
      containerUser(image, undefined, undefined, passwd),
    );
    expect(env).toEqual({ PATH: '/image/bin', HOSTNAME: 'pod-1', A: 'container', B: 'b', HOME: '/root' });
  });

  it('takes the group and home of a known uid, and 0 and / for an unknown one', () => {
    expect(containerUser(image, 1000, undefined, passwd)).toEqual({
      uid: 1000,
      gid: 1001,
      known: true,
      home: '/home/ci',
    });
    expect(containerUser(image, 1000, 5, passwd)).toMatchObject({ gid: 5 });
    expect(containerUser(image, 4242, undefined, passwd)).toEqual({
      uid: 4242,
      gid: 0,
      known: false,
      home: '/',
    });
    expect(containerUser({ ...image, user: { uid: 7, gid: 8 } }, undefined, undefined, passwd)).toMatchObject(
      {
        uid: 7,
        gid: 8,
      },
    );
  });

  it('keeps a HOME the container sets', () => {
    const env = containerEnv(
      image,
      'p',
      [{ name: 'HOME', value: '/work' }],
      containerUser(image, 0, 0, passwd),
    );
    expect(env.HOME).toBe('/work');
  });

  it('keeps loader and shell-startup variables away from the launch chain', () => {
    expect(splitLaunchEnv({ PATH: '/bin', LD_PRELOAD: 'x.so', BASH_ENV: '/e', A: '1' })).toEqual({
      launch: { PATH: '/bin', A: '1' },
      deferred: { LD_PRELOAD: 'x.so', BASH_ENV: '/e' },
    });
  });
});
