import { describe, expect, it } from 'vitest';
import { normalizeImageReference } from '../../../src/sim/kube/process/image-reference.ts';
import {
  builtInImageTable,
  containerArgv,
  type ImageHostFacts,
  imageTableFromInput,
  resolveImage,
  STANDARD_PATH,
} from '../../../src/sim/kube/process/image-table.ts';

const facts: ImageHostFacts = {
  checkoutRoot: '/src/podrunner',
  imagesDir: '/src/podrunner/src/sim/kube/process/images',
  nodeBinDir: '/src/podrunner/node_modules/.bin',
  busyboxBinDir: '/tmp/state/busybox-bin',
};
const table = builtInImageTable(facts);

describe('image references', () => {
  it.each([
    ['node', 'node:latest'],
    ['node:22', 'node:22'],
    ['docker.io/library/node:22-alpine', 'node:22-alpine'],
    ['index.docker.io/bitnami/redis:7', 'bitnami/redis:7'],
    ['localhost:5000/podrunner/helper', 'localhost:5000/podrunner/helper:latest'],
    ['alpine@sha256:0123abcd', 'alpine:latest'],
    ['ghcr.io/podrunner/helper:0.1.0@sha256:0123', 'ghcr.io/podrunner/helper:0.1.0'],
  ])('normalizes %s to %s', (image, normalized) => {
    expect(normalizeImageReference(image)).toBe(normalized);
  });
});

describe('the built-in image table', () => {
  it("runs podrunner's helper image from this checkout", () => {
    for (const image of ['ghcr.io/podrunner/helper:0.1.0', 'registry.example.com/ci/podrunner-helper:dev']) {
      const { config } = resolveImage(table, image);
      expect(config.env.PATH?.split(':').slice(0, 3)).toEqual([
        `${facts.imagesDir}/podrunner-helper/bin`,
        '/src/podrunner/bin',
        '/src/podrunner/node_modules/.bin',
      ]);
    }
  });

  it('maps node, busybox/alpine, nginx, httpd and dind, and everything else to /bin/sh', () => {
    expect(resolveImage(table, 'node:22').config).toMatchObject({ cmd: ['node'] });
    expect(resolveImage(table, 'node:22').config.env.PATH).toBe(`${facts.nodeBinDir}:${STANDARD_PATH}`);
    expect(resolveImage(table, 'alpine:3.20').config.env.PATH).toBe(
      `${facts.busyboxBinDir}:${STANDARD_PATH}`,
    );
    expect(resolveImage(table, 'nginx').config).toMatchObject({
      cmd: ['nginx', '-g', 'daemon off;'],
      ports: [80],
    });
    expect(resolveImage(table, 'httpd:2.4').config).toMatchObject({ cmd: ['httpd-foreground'], ports: [80] });
    expect(resolveImage(table, 'docker:24.0.5-dind').config).toMatchObject({
      entrypoint: ['dockerd-entrypoint.sh'],
      ports: [2375, 2376],
    });
    expect(resolveImage(table, 'docker:dind-rootless').config.entrypoint).toEqual(['dockerd-entrypoint.sh']);
    expect(resolveImage(table, 'ruby:3.3').config).toEqual({
      entrypoint: [],
      cmd: ['/bin/sh'],
      env: { PATH: STANDARD_PATH },
      workingDir: '/',
      ports: [],
    });
  });

  it('lets table file entries come first and take defaults from their kit', () => {
    const extra = imageTableFromInput(
      {
        images: [
          { match: 'my.registry/web:*', kit: 'nginx', env: { NGINX_PORT: '8080' }, ports: [8080] },
          { match: ['ruby:*'], entrypoint: ['/usr/bin/env'], user: '1000:1001', workingDir: '/app' },
        ],
      },
      facts,
      'images.yaml',
    );
    const combined = [...extra, ...table];
    expect(resolveImage(combined, 'my.registry/web:2').config).toMatchObject({
      cmd: ['nginx', '-g', 'daemon off;'],
      ports: [8080],
      env: { NGINX_PORT: '8080', PATH: expect.stringContaining('/nginx/bin') },
    });
    expect(resolveImage(combined, 'ruby:3.3')).toMatchObject({
      source: 'images.yaml',
      config: { entrypoint: ['/usr/bin/env'], cmd: [], user: { uid: 1000, gid: 1001 }, workingDir: '/app' },
    });
  });

  it('names the offending field of an invalid table', () => {
    expect(() => imageTableFromInput({ images: [{ match: 'x', kit: 'postgres' }] }, facts, 't.yaml')).toThrow(
      /image table t\.yaml: images\.0\.kit: /,
    );
    expect(() => imageTableFromInput({ images: [{ match: 'x', user: 'nobody' }] }, facts, 't.yaml')).toThrow(
      /images\.0\.user/,
    );
    expect(() => imageTableFromInput({ image: [] }, facts, 't.yaml')).toThrow(/t\.yaml/);
  });
});

describe('command and args', () => {
  const image = { entrypoint: ['/entry'], cmd: ['default'], env: {}, workingDir: '/', ports: [] };
  it('follows Kubernetes: command replaces the entrypoint and drops cmd, args replace cmd', () => {
    expect(containerArgv(image)).toEqual(['/entry', 'default']);
    expect(containerArgv(image, undefined, ['a'])).toEqual(['/entry', 'a']);
    expect(containerArgv(image, ['/bin/cmd'])).toEqual(['/bin/cmd']);
    expect(containerArgv(image, ['/bin/cmd'], ['a'])).toEqual(['/bin/cmd', 'a']);
    expect(containerArgv(image, [], [])).toEqual(['/entry', 'default']);
  });
});
