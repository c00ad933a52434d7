// The runner side of the protocol, played over HTTP against the embedded GitLab the way the manager
// does it (gitlab-runner-api.md §2–§4): `POST /jobs/request` with podrunner's features, the
// two-phase accept `PUT state=running`, the trace `PATCH` and the final `PUT` with its checksum.

import { crc32 } from 'node:zlib';
import { runnerFeatures } from '../../../../src/gitlab/features.ts';
import { type JobPayload, parseJobPayload } from '../../../../src/gitlab/payload.ts';

/** A job as the runner received it. */
export interface RunnerJob {
  id: number;
  name: string;
  token: string;
  /** The 201 body exactly as GitLab sent it: what the manager puts in the Secret as `job.json`. */
  raw: string;
  payload: JobPayload;
}

export interface FinalUpdate {
  state: 'success' | 'failed';
  failureReason?: string;
  exitCode?: number;
  /** The job log as the manager relays it (the containers' output). */
  trace: string;
}

export class RunnerSide {
  readonly url: string;
  readonly token: string;
  readonly systemId = 's_podrunnertest';

  constructor(url: string, token: string) {
    this.url = url;
    this.token = token;
  }

  async #call(method: string, path: string, body: unknown, jobToken?: string): Promise<Response> {
    return await fetch(`${this.url}/api/v4${path}`, {
      method,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'podrunner-test',
        ...(jobToken ? { 'JOB-TOKEN': jobToken } : {}),
      },
      body: JSON.stringify(body),
    });
  }

  /** Asks for the next job, expects `name`, and accepts it (two-phase commit). */
  async next(name: string): Promise<RunnerJob> {
    const res = await this.#call('POST', '/jobs/request', {
      token: this.token,
      system_id: this.systemId,
      info: {
        name: 'podrunner',
        version: '0.1.0',
        revision: 'test',
        platform: 'linux',
        architecture: 'amd64',
        executor: 'kubernetes',
        shell: 'bash',
        features: runnerFeatures,
        config: { gpus: '' },
      },
    });
    const raw = await res.text();
    if (res.status !== 201)
      throw new Error(`POST /jobs/request: ${res.status} ${raw} (expected job ${name})`);
    const parsed = parseJobPayload(JSON.parse(raw));
    if (!parsed.ok) throw new Error(`job payload: ${parsed.error}`);
    const job: RunnerJob = {
      id: parsed.job.id,
      name: parsed.job.job_info.name,
      token: parsed.job.token,
      raw,
      payload: parsed.job,
    };
    if (job.name !== name) throw new Error(`got job ${job.name} (${job.id}), expected ${name}`);
    const accept = await this.#call(
      'PUT',
      `/jobs/${job.id}`,
      { token: job.token, state: 'running' },
      job.token,
    );
    if (accept.status !== 200) throw new Error(`accept PUT of job ${job.id}: ${accept.status}`);
    await accept.arrayBuffer();
    return job;
  }

  /**
   * Uploads bytes as the job's artifacts the way any runner may (multipart `file`, `JOB-TOKEN`): how a
   * test stores a damaged or hostile archive for a later job to download. Returns the status.
   */
  async uploadArtifact(
    job: RunnerJob,
    data: Buffer,
    options: { filename?: string; type?: string; format?: string } = {},
  ): Promise<number> {
    const form = new FormData();
    form.append('file', new Blob([data]), options.filename ?? 'artifacts.zip');
    const query = new URLSearchParams({
      artifact_type: options.type ?? 'archive',
      artifact_format: options.format ?? 'zip',
    });
    const res = await fetch(`${this.url}/api/v4/jobs/${job.id}/artifacts?${query}`, {
      method: 'POST',
      headers: { 'JOB-TOKEN': job.token },
      body: form,
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** Sends the log, then the final update, repeating it while GitLab answers 202. */
  async finish(job: RunnerJob, update: FinalUpdate): Promise<void> {
    const trace = Buffer.from(update.trace);
    if (trace.length > 0) {
      const patch = await fetch(`${this.url}/api/v4/jobs/${job.id}/trace`, {
        method: 'PATCH',
        headers: {
          'JOB-TOKEN': job.token,
          'Content-Type': 'text/plain',
          'Content-Range': `0-${trace.length - 1}`,
        },
        body: trace,
      });
      await patch.arrayBuffer();
      if (patch.status !== 202) throw new Error(`PATCH trace of job ${job.id}: ${patch.status}`);
    }
    const body = {
      token: job.token,
      state: update.state,
      ...(update.failureReason ? { failure_reason: update.failureReason } : {}),
      ...(update.exitCode !== undefined ? { exit_code: update.exitCode } : {}),
      output: { checksum: `crc32:${crc32(trace).toString(16).padStart(8, '0')}`, bytesize: trace.length },
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await this.#call('PUT', `/jobs/${job.id}`, body, job.token);
      await res.arrayBuffer();
      if (res.status === 200) return;
      if (res.status !== 202) throw new Error(`final PUT of job ${job.id}: ${res.status}`);
    }
    throw new Error(`final PUT of job ${job.id}: still 202 after 5 tries`);
  }
}
