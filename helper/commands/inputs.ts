// Reads and validates the helper's two inputs and builds the job context both commands share.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type JobPayload, parseJobPayload } from '../../src/gitlab/payload.ts';
import type { JobContext } from '../context.ts';
import {
  CONTRACT_PATHS,
  HELPER_SETTINGS_FILE,
  type HelperSettings,
  JOB_FILE,
  parseHelperSettings,
} from '../contract.ts';
import { HelperError } from '../errors.ts';
import { Masker } from '../output/mask.ts';
import { type TextSink, Trace } from '../output/trace.ts';
import { readBuildSettings } from '../settings.ts';
import { JobVariables } from '../variables.ts';

export interface CommandOptions {
  jobDir?: string;
  statusDir?: string;
  terminationLog?: string;
}

export interface Inputs {
  job: JobPayload;
  helper: HelperSettings;
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new HelperError('INVALID_INPUT', `cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HelperError('INVALID_INPUT', `${file} is not valid JSON: ${(error as Error).message}`);
  }
}

export function jobDirOf(options: CommandOptions): string {
  return options.jobDir ?? process.env.PODRUNNER_JOB_DIR ?? CONTRACT_PATHS.jobDir;
}

/** The termination-log path before helper.json could be read. */
export function terminationLogOf(options: CommandOptions, helper?: HelperSettings): string {
  return (
    options.terminationLog ??
    process.env.PODRUNNER_TERMINATION_LOG ??
    helper?.terminationLog ??
    CONTRACT_PATHS.terminationLog
  );
}

export async function readInputs(options: CommandOptions): Promise<Inputs> {
  const dir = jobDirOf(options);
  const parsedJob = parseJobPayload(await readJson(path.join(dir, JOB_FILE)));
  if (!parsedJob.ok) throw new HelperError('INVALID_INPUT', `${JOB_FILE}: ${parsedJob.error}`);
  const parsedHelper = parseHelperSettings(await readJson(path.join(dir, HELPER_SETTINGS_FILE)));
  if (!parsedHelper.ok) throw new HelperError('INVALID_INPUT', parsedHelper.error);
  const helper = parsedHelper.settings;
  const statusDir = options.statusDir ?? process.env.PODRUNNER_STATUS_DIR;
  if (statusDir) helper.statusDir = statusDir;
  helper.terminationLog = terminationLogOf(options, helper);
  return { job: parsedJob.job, helper };
}

export function createContext(inputs: Inputs, sink: TextSink, signal?: AbortSignal): JobContext {
  const { job, helper } = inputs;
  const vars = new JobVariables(job.variables);
  const secrets = [job.token, ...vars.maskedValues(), ...job.dependencies.map((d) => d.token)];
  const trace = new Trace(sink, {
    masker: new Masker(secrets),
    sections: job.features.trace_sections ?? true,
  });
  return {
    job,
    vars,
    helper,
    build: readBuildSettings(job, vars, helper),
    trace,
    projectDir: helper.projectDir,
    signal,
  };
}
