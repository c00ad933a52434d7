// The image table: what "runs" for an image name in process mode, since nothing is pulled. Each entry
// maps glob patterns over the normalized reference (`node:22`, `ghcr.io/podrunner/helper:0.1.0`) to
// an image config like a real image's (`Entrypoint`, `Cmd`, `Env`, `WorkingDir`, `User`,
// `ExposedPorts`). A table file (YAML or JSON) adds entries in front of the built-in ones; the first
// match wins. An entry may name a `kit`: a directory under ./images/ whose bin/ provides the image's
// commands (a tiny nginx, a Docker API stub, podrunner's helper), put first on PATH.
import { readFileSync } from 'node:fs';
import picomatch from 'picomatch';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ProcessRuntimeError } from './errors.ts';
import { normalizeImageReference } from './image-reference.ts';

export const STANDARD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  /** Image environment; always holds PATH. */
  env: Record<string, string>;
  workingDir: string;
  user?: { uid: number; gid?: number };
  /** The image's exposed ports: no host relay is put on them inside the pod (the image listens there). */
  ports: number[];
  /** Makes `pullImage` fail with this message (to exercise ErrImagePull / ImagePullBackOff). */
  pullError?: string;
}

export interface ImageTableEntry {
  patterns: string[];
  config: ImageConfig;
  /** `built-in` or the table file the entry came from, for messages. */
  source: string;
}

export type ImageTable = ImageTableEntry[];

export const kitNames = ['nginx', 'httpd', 'docker-dind', 'podrunner-helper'] as const;
export type KitName = (typeof kitNames)[number];

/** Facts about this machine and checkout that the built-in entries point at. */
export interface ImageHostFacts {
  checkoutRoot: string;
  /** ./images of this module (kits live in `<imagesDir>/<kit>/bin`). */
  imagesDir: string;
  /** A directory holding a `node` >= 22. */
  nodeBinDir: string;
  /** A directory of busybox applet links, if busybox is installed. */
  busyboxBinDir?: string;
}

const pathOf = (...dirs: (string | undefined)[]) => [...dirs.filter(Boolean), STANDARD_PATH].join(':');

export function kitConfig(kit: KitName, facts: ImageHostFacts): ImageConfig {
  const bin = `${facts.imagesDir}/${kit}/bin`;
  // The kits' servers are Node programs: their launchers use this node even if a pod changes PATH.
  const node = { PODRUNNER_SIM_NODE: `${facts.nodeBinDir}/node` };
  switch (kit) {
    case 'nginx':
      // nginx's own image: CMD ["nginx", "-g", "daemon off;"], EXPOSE 80.
      return {
        entrypoint: [],
        cmd: ['nginx', '-g', 'daemon off;'],
        env: { PATH: pathOf(bin, facts.nodeBinDir), ...node },
        workingDir: '/',
        ports: [80],
      };
    case 'httpd':
      return {
        entrypoint: [],
        cmd: ['httpd-foreground'],
        env: { PATH: pathOf(`${facts.imagesDir}/nginx/bin`, facts.nodeBinDir), ...node },
        workingDir: '/',
        ports: [80],
      };
    case 'docker-dind':
      // docker:dind: ENTRYPOINT ["dockerd-entrypoint.sh"], EXPOSE 2375 2376.
      return {
        entrypoint: ['dockerd-entrypoint.sh'],
        cmd: [],
        env: { PATH: pathOf(bin, facts.nodeBinDir), DOCKER_TLS_CERTDIR: '/certs', ...node },
        workingDir: '/',
        ports: [2375, 2376],
      };
    case 'podrunner-helper':
      return {
        entrypoint: [],
        cmd: ['podrunner-helper'],
        env: {
          PATH: pathOf(
            bin,
            `${facts.checkoutRoot}/bin`,
            `${facts.checkoutRoot}/node_modules/.bin`,
            facts.nodeBinDir,
          ),
        },
        workingDir: '/',
        ports: [],
      };
  }
}

const shellImage = (facts: ImageHostFacts, cmd: string[], withBusybox: boolean): ImageConfig => ({
  entrypoint: [],
  cmd,
  env: { PATH: pathOf(withBusybox ? facts.busyboxBinDir : undefined) },
  workingDir: '/',
  ports: [],
});

export function builtInImageTable(facts: ImageHostFacts): ImageTable {
  const entry = (patterns: string[], config: ImageConfig): ImageTableEntry => ({
    patterns,
    config,
    source: 'built-in',
  });
  return [
    entry(['**/podrunner/helper:*', '**/podrunner-helper:*'], kitConfig('podrunner-helper', facts)),
    entry(['**/docker:*dind*'], kitConfig('docker-dind', facts)),
    entry(['**/nginx:*', '**/nginx-unprivileged:*'], kitConfig('nginx', facts)),
    entry(['**/httpd:*'], kitConfig('httpd', facts)),
    entry(['**/node:*'], {
      entrypoint: [],
      cmd: ['node'],
      env: { PATH: pathOf(facts.nodeBinDir) },
      workingDir: '/',
      ports: [],
    }),
    // Alpine-based images whose shell and tools are busybox's.
    entry(['**/busybox:*', '**/alpine:*', '**/docker:*'], shellImage(facts, ['sh'], true)),
    entry(['**'], shellImage(facts, ['/bin/sh'], false)),
  ];
}

const portNumber = z.number().int().min(1).max(65535);

const entrySchema = z
  .object({
    match: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    kit: z.enum(kitNames).optional(),
    entrypoint: z.array(z.string()).optional(),
    cmd: z.array(z.string()).optional(),
    env: z.record(z.string().regex(/^[^=\0]+$/, 'an environment variable name'), z.string()).optional(),
    workingDir: z.string().startsWith('/', 'an absolute path').optional(),
    user: z
      .union([z.number().int().min(0), z.string().regex(/^\d+(:\d+)?$/, 'a numeric "uid" or "uid:gid"')])
      .optional(),
    ports: z.array(portNumber).optional(),
    pullError: z.string().min(1).optional(),
  })
  .strict();

export const imageTableFileSchema = z.object({ images: z.array(entrySchema) }).strict();
export type ImageTableFile = z.input<typeof imageTableFileSchema>;

function parseUser(user: number | string | undefined): ImageConfig['user'] {
  if (user === undefined) return undefined;
  const [uid, gid] = String(user).split(':');
  return { uid: Number(uid), ...(gid !== undefined ? { gid: Number(gid) } : {}) };
}

/** Validates a table (already parsed from YAML/JSON) and turns it into entries over the given facts. */
export function imageTableFromInput(input: unknown, facts: ImageHostFacts, source: string): ImageTable {
  const parsed = imageTableFileSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(root)';
    throw new ProcessRuntimeError(
      'image-table-invalid',
      `image table ${source}: ${where}: ${issue?.message}`,
    );
  }
  return parsed.data.images.map((e) => {
    const base = e.kit ? kitConfig(e.kit, facts) : shellImage(facts, ['/bin/sh'], false);
    const user = parseUser(e.user) ?? base.user;
    const config: ImageConfig = {
      entrypoint: e.entrypoint ?? base.entrypoint,
      cmd: e.cmd ?? (e.entrypoint ? [] : base.cmd),
      env: { ...base.env, ...e.env },
      workingDir: e.workingDir ?? base.workingDir,
      ports: e.ports ?? base.ports,
      ...(user ? { user } : {}),
      ...(e.pullError ? { pullError: e.pullError } : {}),
    };
    return { patterns: typeof e.match === 'string' ? [e.match] : e.match, config, source };
  });
}

export function loadImageTableFileSync(file: string, facts: ImageHostFacts): ImageTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ProcessRuntimeError('image-table-invalid', `image table ${file}: cannot read it: ${error}`, {
      cause: error,
    });
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ProcessRuntimeError('image-table-invalid', `image table ${file}: not YAML or JSON: ${message}`);
  }
  return imageTableFromInput(data, facts, file);
}

export interface ResolvedImage {
  reference: string;
  config: ImageConfig;
  source: string;
}

const matchers = new WeakMap<ImageTableEntry, (reference: string) => boolean>();

function matcher(entry: ImageTableEntry): (reference: string) => boolean {
  let match = matchers.get(entry);
  if (!match) {
    match = picomatch(entry.patterns, { dot: true });
    matchers.set(entry, match);
  }
  return match;
}

export function resolveImage(table: ImageTable, image: string): ResolvedImage {
  const reference = normalizeImageReference(image);
  for (const entry of table) {
    if (matcher(entry)(reference)) {
      return { reference, config: entry.config, source: entry.source };
    }
  }
  // The built-in table ends with a catch-all; a table without one still runs something sensible.
  return {
    reference,
    config: { entrypoint: [], cmd: ['/bin/sh'], env: { PATH: STANDARD_PATH }, workingDir: '/', ports: [] },
    source: 'built-in',
  };
}

/** Kubernetes semantics: `command` replaces the entrypoint (and drops the image's cmd), `args` the cmd. */
export function containerArgv(image: ImageConfig, command?: string[], args?: string[]): string[] {
  const hasCommand = command !== undefined && command.length > 0;
  const hasArgs = args !== undefined && args.length > 0;
  if (hasCommand) return [...command, ...(hasArgs ? args : [])];
  return [...image.entrypoint, ...(hasArgs ? args : image.cmd)];
}
