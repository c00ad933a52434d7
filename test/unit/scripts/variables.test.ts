import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jobTimeoutSeconds, parseJobPayload } from '../../../src/gitlab/payload.ts';
import {
  assembleVariables,
  commandsBody,
  expandValue,
  expandVariables,
  maskedValues,
  parseGoDuration,
  printfExact,
  renderBuildScript,
  runnerVariables,
  shellDetectionCommand,
  shellQuote,
  stageTimeouts,
} from '../../../src/scripts/index.ts';

/** `${NAME}` spelled so it is not read as a template placeholder. */
const braced = (name: string) => `$${'{'}${name}}`;

const job = (() => {
  const parsed = parseJobPayload(
    JSON.parse(readFileSync(new URL('../../fixtures/gitlab/job-full.json', import.meta.url), 'utf8')),
  );
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.job;
})();

const runnerOptions = {
  buildsDir: '/builds',
  projectDir: '/builds/acme/platform/web-app',
  jobTimeoutSeconds: 5400,
  shortToken: '9kWmQp2xZ',
  concurrentId: 3,
  concurrentProjectId: 1,
  image: 'node:22',
  tlsCaChain: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
  environment: ['HTTP_PROXY=http://proxy:3128', 'NOEQUALS', 'EMPTY='],
  featureFlags: { FF_TIMESTAMPS: true, FF_SCRIPT_SECTIONS: false },
  version: '0.1.0',
  revision: 'abc12345',
};

describe('variable expansion (Go os.Expand semantics)', () => {
  const lookup = (name: string) => ({ A: 'a', B: 'b$A' })[name] ?? '';
  it('expands $NAME and the braced form, keeps $$ as $, drops unknown and special names', () => {
    expect(expandValue('x$A-y', lookup)).toBe('xa-y');
    expect(expandValue(`${braced('A')}${braced('B')}`, lookup)).toBe('ab$A');
    expect(expandValue('cost: $$5', (n) => (n === '$' ? '$' : ''))).toBe('cost: $5');
    expect(expandValue('$UNKNOWN|$1|$@|end$', lookup)).toBe('|||end$');
    expect(expandValue(`a$${'{'}}b, bad $${'{'} unclosed`, lookup)).toBe('ab, bad  unclosed');
    expect(expandValue('no dollars', lookup)).toBe('no dollars');
    expect(expandValue('$-x', lookup)).toBe('x');
  });

  it('expands against the whole list (last definition wins), raw values stay literal, files give paths', () => {
    const expanded = expandVariables(
      [
        { key: 'REF', value: 'v=$LATER' },
        { key: 'LATER', value: 'one' },
        { key: 'LATER', value: 'two' },
        { key: 'RAW', value: '$LATER', raw: true },
        { key: 'PEM', value: 'secret', file: true },
        { key: 'USES_PEM', value: 'path $PEM' },
        { key: 'TOKEN', value: 'tok-$LATER', masked: true },
      ],
      '/builds/p',
    );
    expect(expanded.map((v) => v.value)).toEqual([
      'v=two',
      'one',
      'two',
      '$LATER',
      'secret',
      'path /builds/p.tmp/PEM',
      'tok-two',
    ]);
    expect(maskedValues(expanded)).toEqual(['tok-two']);
  });
});

describe('runner-side variables', () => {
  it('adds upstream variables before and after the job variables, in order', () => {
    const all = assembleVariables(job, runnerOptions);
    const keys = all.map((v) => v.key);
    expect(keys.slice(0, 4)).toEqual([
      'FF_TIMESTAMPS',
      'FF_SCRIPT_SECTIONS',
      'CI_JOB_IMAGE',
      'CI_RUNNER_SHORT_TOKEN',
    ]);
    expect(keys).toContain('HTTP_PROXY');
    expect(keys).not.toContain('NOEQUALS');
    const at = (key: string) => keys.indexOf(key);
    expect(at('CI_PROJECT_DIR')).toBeLessThan(at('CI_JOB_TOKEN'));
    expect(at('CI_JOB_TOKEN')).toBeLessThan(at('CI_DISPOSABLE_ENVIRONMENT'));
    // The job's own FF_TIMESTAMPS is replaced by the resolved value.
    expect(all.filter((v) => v.key === 'FF_TIMESTAMPS')).toHaveLength(1);
    expect(all.find((v) => v.key === 'CI_SERVER_TLS_CA_FILE')).toMatchObject({ file: true });
    expect(all.find((v) => v.key === 'CI_JOB_TIMEOUT')?.value).toBe('5400');
    expect(all.find((v) => v.key === 'CI_CONCURRENT_ID')?.value).toBe('3');
    expect(all.find((v) => v.key === 'RUNNER_TEMP_PROJECT_DIR')?.value).toBe(
      '/builds/acme/platform/web-app.tmp',
    );
    expect(all.at(-1)?.key).toBe('RUNNER_TEMP_PROJECT_DIR');
  });

  it('fills CI_RUNNER_ID/DESCRIPTION/TAGS only when asked', () => {
    const { before } = runnerVariables({
      ...runnerOptions,
      runnerId: 7,
      runnerDescription: 'k8s',
      runnerTags: ['a'],
    });
    expect(before.find((v) => v.key === 'CI_RUNNER_TAGS')?.value).toBe('["a"]');
    expect(runnerVariables(runnerOptions).before.some((v) => v.key === 'CI_RUNNER_ID')).toBe(false);
  });
});

describe('shell building blocks', () => {
  it('quotes anything for POSIX sh', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('a\0b')).toBe(`'ab'`);
    expect(printfExact('plain')).toBe(`printf '%s' 'plain'`);
    expect(printfExact('a\0%b\\')).toBe(`printf 'a\\000%%b\\\\'`);
  });

  it('detects the shell like upstream: bash first, then sh, then busybox', () => {
    const [sh, flag, script] = shellDetectionCommand('/podrunner/job/build.sh');
    expect([sh, flag]).toEqual(['sh', '-c']);
    expect(script).toContain(
      "if [ -x /usr/local/bin/bash ]; then\n\texec /usr/local/bin/bash '/podrunner/job/build.sh'",
    );
    expect(script!.indexOf('/bin/bash')).toBeLessThan(script!.indexOf('/bin/sh'));
    expect(script).toContain("elif [ -x /busybox/sh ]; then\n\texec /busybox/sh '/podrunner/job/build.sh'");
    expect(script).toContain('echo shell not found\n\texit 1');
  });

  it('echoes commands like upstream', () => {
    const opts = { scriptSections: false, traceSections: true };
    expect(commandsBody('script_step', ['  echo hi  ', ''], opts)).toBe(
      `printf '\\033[32;1m%s\\033[0;m\\n' '$ echo hi'\necho hi\necho`,
    );
    expect(commandsBody('script_step', ['a\nb'], opts)).toContain(`'$ a # collapsed multi-line command'`);
    expect(commandsBody('script_step', ['a\nb'], { ...opts, scriptSections: true })).toContain(
      'section_start:%s:section_script_step_0[hide_duration=true,collapsed=true]',
    );
    expect(commandsBody('script_step', ['a\nb'], { scriptSections: true, traceSections: false })).toContain(
      'collapsed multi-line command',
    );
  });

  it('parses Go durations', () => {
    expect(parseGoDuration('1h30m')).toBe(5400);
    expect(parseGoDuration('90s')).toBe(90);
    expect(parseGoDuration('1.5h')).toBe(5400);
    expect(parseGoDuration('500ms')).toBe(0.5);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('-5m')).toBe(-300);
    expect(parseGoDuration('5')).toBeUndefined();
    expect(parseGoDuration('5 m')).toBeUndefined();
    expect(parseGoDuration('5y')).toBeUndefined();
    expect(parseGoDuration('')).toBeUndefined();
  });

  it('reads the step timeouts like upstream', () => {
    expect(stageTimeouts([], 3600)).toEqual({ scriptSeconds: 3600, afterScriptSeconds: 300, warnings: [] });
    expect(
      stageTimeouts(
        [
          { key: 'RUNNER_SCRIPT_TIMEOUT', value: '10m' },
          { key: 'RUNNER_AFTER_SCRIPT_TIMEOUT', value: '-1m' },
        ],
        3600,
      ),
    ).toEqual({
      scriptSeconds: 600,
      afterScriptSeconds: 300,
      warnings: ['Ignoring relative RUNNER_AFTER_SCRIPT_TIMEOUT timeout: -1m'],
    });
    expect(
      stageTimeouts([{ key: 'RUNNER_AFTER_SCRIPT_TIMEOUT', value: '1h' }], 3600, 42).afterScriptSeconds,
    ).toBe(42);
  });
});

describe('renderBuildScript', () => {
  it('puts only the script in the job Secret, under valid keys, with no value outside it', () => {
    const variables = assembleVariables(job, runnerOptions);
    const rendered = renderBuildScript({
      job,
      variables,
      projectDir: runnerOptions.projectDir,
      jobTimeoutSeconds: jobTimeoutSeconds(job),
    });
    expect(Object.keys(rendered.files)).toEqual(['build.sh']);
    for (const key of Object.keys(rendered.files)) expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
    const script = rendered.files['build.sh']!;
    expect(script).toContain("export DEPLOY_API_TOKEN='s3cr3t-Deploy_Token.9Xq'");
    expect(script).toContain("_pr_status_dir='/podrunner/status'");
    expect(script).toContain("_pr_termination_log='/dev/termination-log'");
    expect(JSON.stringify(rendered.command)).not.toContain('s3cr3t');
    expect(rendered.command[2]).toContain("'/podrunner/job/build.sh'");
  });
});
