// Coordination between managers of one runner (the seed's `replicas: 2`, or a manager that comes
// back as a new pod with a new system ID). Each manager holds one Lease, renewed on a timer, so the
// cost is constant in the number and length of jobs. A manager whose Lease has expired is gone:
// exactly one survivor claims it (create or compare-and-swap on the Lease, which the API server
// serialises), moves the dead manager's pods to itself and adopts them.
import type { Cluster } from './cluster.ts';
import { KubeApiError } from './kube-errors.ts';
import type { LeaseObject } from './wire.ts';

export const MANAGER_LABEL = 'podrunner.dev/manager';
export const RUNNER_LABEL = 'podrunner.dev/runner';

export interface ManagerLeaseOptions {
  namespace: string;
  /** Label value naming the runner (its short token). */
  runner: string;
  /** This manager's identity (its system ID). */
  identity: string;
  durationSeconds?: number;
  now?: () => Date;
}

export function leaseName(runner: string, identity: string): string {
  return `podrunner-${runner}-${identity}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .slice(0, 253);
}

export function microTime(d: Date): string {
  return `${d.toISOString().slice(0, 23)}000Z`;
}

export function leaseExpired(lease: LeaseObject, now: Date): boolean {
  const renew = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  const duration = lease.spec?.leaseDurationSeconds ?? 15;
  if (!renew) return true;
  return Date.parse(renew) + duration * 1000 < now.getTime();
}

export class ManagerLease {
  readonly #cluster: Cluster;
  readonly #o: Required<Omit<ManagerLeaseOptions, 'now'>> & { now: () => Date };
  #current: LeaseObject | undefined;

  constructor(cluster: Cluster, options: ManagerLeaseOptions) {
    this.#cluster = cluster;
    this.#o = { durationSeconds: 15, now: () => new Date(), ...options };
  }

  get name(): string {
    return leaseName(this.#o.runner, this.#o.identity);
  }

  get durationSeconds(): number {
    return this.#o.durationSeconds;
  }

  /** Creates this manager's Lease, or takes it back if a previous run of this identity left it. */
  async acquire(): Promise<void> {
    const existing = await this.#cluster.readLease(this.#o.namespace, this.name);
    if (!existing) {
      this.#current = await this.#cluster.createLease(this.#o.namespace, this.#lease(undefined));
      return;
    }
    this.#current = await this.#cluster.replaceLease(this.#o.namespace, this.#lease(existing));
  }

  /**
   * Renews the Lease. Returns false when another manager holds it now (it judged this one dead):
   * the caller must stop driving its jobs.
   */
  async renew(): Promise<boolean> {
    try {
      this.#current = await this.#cluster.replaceLease(this.#o.namespace, this.#lease(this.#current));
      return true;
    } catch (err) {
      if (!(err instanceof KubeApiError) || (err.code !== 'conflict' && err.code !== 'not-found')) throw err;
      const fresh = await this.#cluster.readLease(this.#o.namespace, this.name);
      if (fresh && fresh.spec?.holderIdentity !== this.#o.identity) return false;
      this.#current = fresh
        ? await this.#cluster.replaceLease(this.#o.namespace, this.#lease(fresh))
        : await this.#cluster.createLease(this.#o.namespace, this.#lease(undefined));
      return true;
    }
  }

  /** Gives the Lease up (graceful shutdown with no job left). */
  async release(): Promise<void> {
    await this.#cluster.deleteLease(this.#o.namespace, this.name);
    this.#current = undefined;
  }

  /** Whether the manager `identity` holds a live Lease. */
  async isAlive(identity: string): Promise<boolean> {
    const lease = await this.#cluster.readLease(this.#o.namespace, leaseName(this.#o.runner, identity));
    return lease !== undefined && !leaseExpired(lease, this.#o.now());
  }

  /**
   * Claims a dead manager: wins only if this call is the one that creates or swaps its Lease.
   * The winner must move the dead manager's pods to itself and then call `finishClaim`.
   */
  async claim(deadIdentity: string): Promise<boolean> {
    const name = leaseName(this.#o.runner, deadIdentity);
    const lease = await this.#cluster.readLease(this.#o.namespace, name);
    if (lease && !leaseExpired(lease, this.#o.now())) return false;
    try {
      if (lease) await this.#cluster.replaceLease(this.#o.namespace, this.#lease(lease, name));
      else await this.#cluster.createLease(this.#o.namespace, this.#lease(undefined, name));
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && (err.code === 'conflict' || err.code === 'already-exists'))
        return false;
      throw err;
    }
  }

  async finishClaim(deadIdentity: string): Promise<void> {
    await this.#cluster.deleteLease(this.#o.namespace, leaseName(this.#o.runner, deadIdentity));
  }

  #lease(previous: LeaseObject | undefined, name = this.name): LeaseObject {
    const now = microTime(this.#o.now());
    const sameHolder = previous?.spec?.holderIdentity === this.#o.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        labels: { [RUNNER_LABEL]: this.#o.runner },
        ...(previous?.metadata?.resourceVersion
          ? { resourceVersion: previous.metadata.resourceVersion }
          : {}),
      },
      spec: {
        holderIdentity: this.#o.identity,
        leaseDurationSeconds: this.#o.durationSeconds,
        acquireTime: sameHolder && previous?.spec?.acquireTime ? previous.spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: (previous?.spec?.leaseTransitions ?? 0) + (previous && !sameHolder ? 1 : 0),
      },
    };
  }
}
