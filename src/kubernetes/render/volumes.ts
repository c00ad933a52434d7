// Volumes of the job pod: the contract's own (docs/pod-contract.md: the builds emptyDir, the job Secret
// read-only at /podrunner/job, the status emptyDir) and every `[runners.kubernetes.volumes]` entry in
// upstream's order (host_path, secret, pvc, config_map, empty_dir, csi, nfs), mounted into every
// container that runs job content. A configured volume mounted exactly at the builds dir replaces the
// builds emptyDir, as upstream's `repo` volume.
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { KubernetesVolumes } from '../../config/schema/kubernetes-volumes.ts';
import {
  JOB_DIR,
  RESERVED_VOLUME_NAMES,
  STATUS_DIR,
  VOLUME_BUILDS,
  VOLUME_JOB,
  VOLUME_STATUS,
} from './contract.ts';
import { RenderError } from './errors.ts';
import { expandForPod } from './labels.ts';
import { parseQuantity } from './quantity.ts';
import type { VariableSet } from './variables.ts';

export interface PodVolumes {
  volumes: V1Volume[];
  /** Mounts for helper, build and uploader: builds, job Secret, status, then the configured ones. */
  jobMounts: V1VolumeMount[];
  /** Mounts for services: builds and the configured ones (never the job Secret). */
  serviceMounts: V1VolumeMount[];
}

const items = (map: Readonly<Record<string, string>> | undefined) =>
  map && Object.keys(map).length > 0 ? Object.entries(map).map(([key, path]) => ({ key, path })) : undefined;

function mount(
  name: string,
  mountPath: string,
  subPath: string | undefined,
  readOnly: boolean | undefined,
  propagation: string | undefined,
): V1VolumeMount {
  const m: V1VolumeMount = { name, mountPath };
  if (subPath) m.subPath = subPath;
  if (readOnly) m.readOnly = true;
  if (propagation) m.mountPropagation = propagation;
  return m;
}

/** The configured volumes and their mounts; `mount_path`, `sub_path` and PVC names expand public variables. */
export function configuredVolumes(
  config: KubernetesVolumes,
  variables: VariableSet,
  log: string[],
): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const expand = (text: string | undefined, what: string) =>
    text ? expandForPod(text, variables, what, log) : undefined;
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  const path = (v: { name: string; mount_path: string; sub_path?: string | undefined }, name = v.name) => ({
    mountPath: expand(v.mount_path, `mount_path of volume "${v.name}"`) ?? v.mount_path,
    subPath: expand(v.sub_path, `sub_path of volume "${v.name}"`),
    name,
  });

  for (const v of config.host_path) {
    const p = path(v);
    volumes.push({ name: v.name, hostPath: { path: v.host_path || v.mount_path } });
    mounts.push(mount(p.name, p.mountPath, p.subPath, v.read_only, v.mount_propagation));
  }
  for (const v of config.secret) {
    const p = path(v);
    const it = items(v.items);
    volumes.push({ name: v.name, secret: { secretName: v.name, ...(it ? { items: it } : {}) } });
    mounts.push(mount(p.name, p.mountPath, p.subPath, v.read_only, undefined));
  }
  const claims = new Set<string>();
  for (const v of config.pvc) {
    const claim = expand(v.name, `name of PVC volume "${v.name}"`) ?? v.name;
    const p = path(v, claim);
    if (!claims.has(v.name)) {
      claims.add(v.name);
      volumes.push({ name: claim, persistentVolumeClaim: { claimName: claim } });
    }
    mounts.push(mount(p.name, p.mountPath, p.subPath, v.read_only, v.mount_propagation));
  }
  for (const v of config.config_map) {
    const p = path(v);
    const it = items(v.items);
    volumes.push({ name: v.name, configMap: { name: v.name, ...(it ? { items: it } : {}) } });
    mounts.push(mount(p.name, p.mountPath, p.subPath, v.read_only, undefined));
  }
  for (const v of config.empty_dir) {
    const p = path(v);
    const emptyDir: NonNullable<V1Volume['emptyDir']> = {};
    if (v.medium) emptyDir.medium = v.medium;
    const size = v.size_limit?.trim();
    if (size) {
      if (parseQuantity(size)) emptyDir.sizeLimit = size;
      else log.push(`WARNING: invalid limit quantity "${size}" for empty volume "${v.name}": ignored`);
    }
    volumes.push({ name: v.name, emptyDir });
    mounts.push(mount(p.name, p.mountPath, p.subPath, undefined, v.mount_propagation));
  }
  for (const v of config.csi) {
    const p = path(v);
    const csi: NonNullable<V1Volume['csi']> = { driver: v.driver, readOnly: v.read_only };
    if (v.fs_type) csi.fsType = v.fs_type;
    if (v.volume_attributes && Object.keys(v.volume_attributes).length > 0)
      csi.volumeAttributes = { ...v.volume_attributes };
    volumes.push({ name: v.name, csi });
    mounts.push(mount(p.name, p.mountPath, p.subPath, v.read_only, undefined));
  }
  for (const v of config.nfs) {
    const p = path(v);
    volumes.push({
      name: v.name,
      nfs: { server: v.server, path: v.path, ...(v.read_only ? { readOnly: true } : {}) },
    });
    mounts.push(mount(p.name, p.mountPath, p.subPath, v.read_only, undefined));
  }

  for (const v of volumes) {
    if (RESERVED_VOLUME_NAMES.includes(v.name)) {
      throw new RenderError(
        'VOLUME_NAME_CONFLICT',
        `volume name "${v.name}" is reserved for the job pod's own volumes (${RESERVED_VOLUME_NAMES.join(', ')}); rename it in [runners.kubernetes.volumes]`,
      );
    }
  }
  return { volumes, mounts };
}

/**
 * All volumes of the pod. Only `jobSecretFiles` (job.json, helper.json, the script files) are projected
 * into /podrunner/job; the services' environment values stay out of the file system.
 */
export function podVolumes(
  config: KubernetesVolumes,
  variables: VariableSet,
  buildsDir: string,
  jobSecretName: string,
  jobSecretFiles: readonly string[],
  log: string[],
): PodVolumes {
  const configured = configuredVolumes(config, variables, log);
  const buildsCovered = configured.mounts.some((m) => m.mountPath === buildsDir);
  const volumes: V1Volume[] = [...configured.volumes];
  const builds: V1VolumeMount[] = [];
  if (!buildsCovered) {
    volumes.push({ name: VOLUME_BUILDS, emptyDir: {} });
    builds.push({ name: VOLUME_BUILDS, mountPath: buildsDir });
  }
  volumes.push({
    name: VOLUME_JOB,
    secret: { secretName: jobSecretName, items: jobSecretFiles.map((key) => ({ key, path: key })) },
  });
  volumes.push({ name: VOLUME_STATUS, emptyDir: {} });
  return {
    volumes,
    jobMounts: [
      ...builds,
      { name: VOLUME_JOB, mountPath: JOB_DIR, readOnly: true },
      { name: VOLUME_STATUS, mountPath: STATUS_DIR },
      ...configured.mounts,
    ],
    serviceMounts: [...builds, ...configured.mounts],
  };
}
