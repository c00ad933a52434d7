// Cluster backed by a real (or simulated) API server.
import type { Cluster, LogRequest } from './cluster.ts';
import type { ClusterAccess } from './cluster-access.ts';
import { KubeApiError } from './kube-errors.ts';
import { KubeHttp, type KubeStream, type RetryPolicy } from './kube-http.ts';
import { RateLimiter } from './rate-limiter.ts';
import type { LeaseObject, ObjectList, OwnerReference, PodObject, SecretObject } from './wire.ts';

export interface KubeClusterOptions {
  qps: number;
  burst: number;
  retry: RetryPolicy;
}

const enc = encodeURIComponent;
const LEASES = '/apis/coordination.k8s.io/v1/namespaces';

export class KubeCluster implements Cluster {
  readonly #http: KubeHttp;
  readonly #access: ClusterAccess;

  constructor(access: ClusterAccess, options: KubeClusterOptions) {
    this.#access = access;
    this.#http = new KubeHttp(
      access,
      new RateLimiter({ qps: options.qps, burst: options.burst }),
      options.retry,
    );
  }

  get requestCount(): number {
    return this.#http.requests.total;
  }

  createSecret(namespace: string, secret: SecretObject): Promise<SecretObject> {
    return this.#http.json('POST', `/api/v1/namespaces/${enc(namespace)}/secrets`, { body: secret });
  }

  createPod(namespace: string, pod: PodObject): Promise<PodObject> {
    return this.#http.json('POST', `/api/v1/namespaces/${enc(namespace)}/pods`, { body: pod });
  }

  async setSecretOwner(namespace: string, name: string, owner: OwnerReference): Promise<void> {
    await this.#http.json('PATCH', `/api/v1/namespaces/${enc(namespace)}/secrets/${enc(name)}`, {
      body: { metadata: { ownerReferences: [owner] } },
      contentType: 'application/merge-patch+json',
    });
  }

  async setPodLabels(namespace: string, name: string, labels: Record<string, string>): Promise<void> {
    await this.#http.json('PATCH', `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`, {
      body: { metadata: { labels } },
      contentType: 'application/merge-patch+json',
    });
  }

  readSecret(namespace: string, name: string): Promise<SecretObject | undefined> {
    return orUndefined(this.#http.json('GET', `/api/v1/namespaces/${enc(namespace)}/secrets/${enc(name)}`));
  }

  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Promise<boolean> {
    return deleted(
      this.#http.json('DELETE', `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`, {
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          propagationPolicy: 'Background',
          ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
        },
      }),
    );
  }

  deleteSecret(namespace: string, name: string): Promise<boolean> {
    return deleted(this.#http.json('DELETE', `/api/v1/namespaces/${enc(namespace)}/secrets/${enc(name)}`));
  }

  listPods(namespace: string, labelSelector: string): Promise<ObjectList<PodObject>> {
    return this.#http.json('GET', `/api/v1/namespaces/${enc(namespace)}/pods`, { query: { labelSelector } });
  }

  async watchPods(
    namespace: string,
    labelSelector: string,
    resourceVersion: string,
    timeoutSeconds: number,
  ): Promise<KubeStream> {
    const stream = await this.#http.stream(`/api/v1/namespaces/${enc(namespace)}/pods`, {
      query: { watch: true, labelSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
    });
    if (!stream) throw new KubeApiError('server-error', 204, 'watch answered 204 No Content');
    return stream;
  }

  streamLog(namespace: string, pod: string, request: LogRequest): Promise<KubeStream | undefined> {
    return this.#http.stream(`/api/v1/namespaces/${enc(namespace)}/pods/${enc(pod)}/log`, {
      query: {
        container: request.container,
        follow: request.follow,
        timestamps: true,
        ...(request.sinceTime ? { sinceTime: request.sinceTime } : {}),
      },
    });
  }

  readLease(namespace: string, name: string): Promise<LeaseObject | undefined> {
    return orUndefined(this.#http.json('GET', `${LEASES}/${enc(namespace)}/leases/${enc(name)}`));
  }

  createLease(namespace: string, lease: LeaseObject): Promise<LeaseObject> {
    return this.#http.json('POST', `${LEASES}/${enc(namespace)}/leases`, { body: lease });
  }

  replaceLease(namespace: string, lease: LeaseObject): Promise<LeaseObject> {
    const name = lease.metadata?.name ?? '';
    return this.#http.json('PUT', `${LEASES}/${enc(namespace)}/leases/${enc(name)}`, { body: lease });
  }

  deleteLease(namespace: string, name: string): Promise<boolean> {
    return deleted(this.#http.json('DELETE', `${LEASES}/${enc(namespace)}/leases/${enc(name)}`));
  }

  listLeases(namespace: string, labelSelector: string): Promise<ObjectList<LeaseObject>> {
    return this.#http.json('GET', `${LEASES}/${enc(namespace)}/leases`, { query: { labelSelector } });
  }

  async serverVersion(): Promise<{ major: number; minor: number; gitVersion: string }> {
    const v = await this.#http.json<{ major?: string; minor?: string; gitVersion?: string }>(
      'GET',
      '/version',
    );
    // Managed clusters report minors like "29+".
    const major = Number.parseInt(v.major ?? '1', 10);
    const minor = Number.parseInt(v.minor ?? '0', 10);
    return { major, minor, gitVersion: v.gitVersion ?? `v${major}.${minor}` };
  }

  close(): Promise<void> {
    return this.#access.close();
  }
}

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 'not-found') return undefined;
    throw err;
  }
}

async function deleted(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 'not-found') return false;
    throw err;
  }
}
