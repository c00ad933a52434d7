// `[runners.kubernetes.volumes]`: one TOML array of tables per volume type (kubernetes-executor.md §1.4).
// Every volume is mounted into every container of the job pod.
import { z } from 'zod';
import { stringMap } from './values.ts';

const mountPropagation = z.enum(['None', 'HostToContainer', 'Bidirectional']);

const mount = {
  name: z.string().min(1),
  mount_path: z.string().min(1),
  sub_path: z.string().optional(),
};

export const hostPathVolume = z.object({
  ...mount,
  read_only: z.boolean().default(false),
  /** Defaults to `mount_path` when empty. */
  host_path: z.string().optional(),
  mount_propagation: mountPropagation.optional(),
});

export const pvcVolume = z.object({
  ...mount,
  read_only: z.boolean().default(false),
  mount_propagation: mountPropagation.optional(),
});

export const configMapVolume = z.object({
  ...mount,
  read_only: z.boolean().default(false),
  items: stringMap.optional(),
});

export const secretVolume = z.object({
  ...mount,
  read_only: z.boolean().default(false),
  items: stringMap.optional(),
});

export const emptyDirVolume = z.object({
  ...mount,
  medium: z.enum(['', 'Memory']).optional(),
  size_limit: z.string().optional(),
  mount_propagation: mountPropagation.optional(),
});

export const csiVolume = z.object({
  ...mount,
  driver: z.string().min(1),
  fs_type: z.string().optional(),
  read_only: z.boolean().default(false),
  volume_attributes: stringMap.optional(),
});

export const nfsVolume = z.object({
  ...mount,
  server: z.string().min(1),
  path: z.string().min(1),
  read_only: z.boolean().default(false),
});

export const kubernetesVolumesSchema = z.object({
  host_path: z.array(hostPathVolume).default([]),
  pvc: z.array(pvcVolume).default([]),
  config_map: z.array(configMapVolume).default([]),
  secret: z.array(secretVolume).default([]),
  empty_dir: z.array(emptyDirVolume).default([]),
  csi: z.array(csiVolume).default([]),
  nfs: z.array(nfsVolume).default([]),
});

export type KubernetesVolumes = z.output<typeof kubernetesVolumesSchema>;
