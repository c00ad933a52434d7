// Prometheus metrics of the manager (gitlab-runner-api.md §7): upstream's names where the meaning is the
// same, so existing dashboards keep working, plus podrunner's own job phase histograms.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { version } from '../version.ts';

export type JobPhaseName = 'queue' | 'scheduling' | 'pull' | 'clone' | 'script' | 'upload';

export class ManagerMetrics {
  readonly registry = new Registry();

  readonly jobs = new Gauge({
    name: 'gitlab_runner_jobs',
    help: 'The current number of running builds.',
    labelNames: ['runner', 'runner_name', 'system_id', 'state', 'stage', 'executor_stage'] as const,
    registers: [this.registry],
  });

  readonly jobsTotal = new Counter({
    name: 'gitlab_runner_jobs_total',
    help: 'Total number of handled jobs.',
    labelNames: ['runner', 'runner_name', 'system_id'] as const,
    registers: [this.registry],
  });

  readonly failedJobsTotal = new Counter({
    name: 'gitlab_runner_failed_jobs_total',
    help: 'Total number of failed jobs.',
    labelNames: ['runner', 'runner_name', 'failure_reason'] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'gitlab_runner_job_duration_seconds',
    help: 'Histogram of job durations.',
    labelNames: ['runner', 'runner_name', 'system_id'] as const,
    buckets: [30, 60, 300, 600, 1800, 3600, 7200, 10800, 18000, 36000],
    registers: [this.registry],
  });

  readonly jobQueueDuration = new Histogram({
    name: 'gitlab_runner_job_queue_duration_seconds',
    help: 'How long jobs waited in GitLab before this runner took them (from the payload).',
    labelNames: ['runner', 'system_id', 'project_jobs_running'] as const,
    buckets: [1, 3, 10, 30, 60, 120, 300, 900, 1800, 3600],
    registers: [this.registry],
  });

  readonly concurrent = new Gauge({
    name: 'gitlab_runner_concurrent',
    help: 'The current value of concurrent setting.',
    registers: [this.registry],
  });

  readonly limit = new Gauge({
    name: 'gitlab_runner_limit',
    help: 'The current value of limit setting.',
    labelNames: ['runner', 'runner_name', 'system_id'] as const,
    registers: [this.registry],
  });

  readonly requestConcurrency = new Gauge({
    name: 'gitlab_runner_request_concurrency',
    help: 'The current number of concurrent requests for a new job.',
    labelNames: ['runner', 'system_id'] as const,
    registers: [this.registry],
  });

  readonly slotsInUse = new Gauge({
    name: 'podrunner_slots_in_use',
    help: 'Slots of concurrent taken by running jobs and job requests in flight.',
    registers: [this.registry],
  });

  readonly apiRequestStatuses = new Counter({
    name: 'gitlab_runner_api_request_statuses_total',
    help: 'The total number of API requests, partitioned by runner, system ID, endpoint, status and method.',
    labelNames: ['runner', 'system_id', 'endpoint', 'status', 'method'] as const,
    registers: [this.registry],
  });

  readonly apiRequestDuration = new Histogram({
    name: 'gitlab_runner_api_request_duration_seconds',
    help: 'Latency histogram of API requests made by GitLab Runner.',
    labelNames: ['runner', 'system_id', 'endpoint', 'status_class', 'method'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly apiRequestRetries = new Counter({
    name: 'gitlab_runner_api_request_retries_total',
    help: 'Attempts of API requests that were retried, the first attempt included.',
    labelNames: ['path', 'method'] as const,
    registers: [this.registry],
  });

  readonly configurationLoaded = new Counter({
    name: 'gitlab_runner_configuration_loaded_total',
    help: 'Total number of times the configuration file was loaded by Runner process.',
    registers: [this.registry],
  });

  readonly configurationLoadingErrors = new Counter({
    name: 'gitlab_runner_configuration_loading_error_total',
    help: 'Total number of times the configuration file was not loaded by Runner process due to errors.',
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: 'gitlab_runner_errors_total',
    help: 'The number of caught errors.',
    labelNames: ['level'] as const,
    registers: [this.registry],
  });

  readonly versionInfo = new Gauge({
    name: 'gitlab_runner_version_info',
    help: 'A metric with a constant 1 value labeled by different build stats fields.',
    labelNames: ['name', 'version', 'revision', 'os', 'architecture'] as const,
    registers: [this.registry],
  });

  readonly jobPhase = new Histogram({
    name: 'podrunner_job_phase_seconds',
    help: 'Time a job spent in each phase: queue (in GitLab), scheduling, pull, clone, script, upload.',
    labelNames: ['runner', 'phase'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    this.versionInfo.set(
      {
        name: 'podrunner',
        version,
        revision: process.env.PODRUNNER_REVISION ?? 'unknown',
        os: process.platform,
        architecture: process.arch,
      },
      1,
    );
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  observeApiCall(call: {
    runner: string;
    systemId: string;
    endpoint: string;
    method: string;
    status: number | 'error';
    durationSeconds: number;
  }): void {
    const status = String(call.status);
    const statusClass = call.status === 'error' ? 'error' : `${String(call.status)[0]}xx`;
    this.apiRequestStatuses.inc({
      runner: call.runner,
      system_id: call.systemId,
      endpoint: call.endpoint,
      status,
      method: call.method,
    });
    this.apiRequestDuration.observe(
      {
        runner: call.runner,
        system_id: call.systemId,
        endpoint: call.endpoint,
        status_class: statusClass,
        method: call.method,
      },
      call.durationSeconds,
    );
  }
}
