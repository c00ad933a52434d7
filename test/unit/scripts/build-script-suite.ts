// The generated build script's behaviour, run by one real shell: exit codes, echo, variables,
// sections, timeouts, cancel, after_script and the pod-contract hand-off files. One test file per
// shell (bash, dash, busybox sh) calls it, so the shells run in parallel.
import { closeSync, constants, existsSync, openSync, readSync, watch } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasPipefail, makePod, plain, run, runJob, type Shell, writeScript } from './harness.ts';

const GREEN = '\x1b[32;1m';
const RESET = '\x1b[0;m';

export function buildScriptSuite(shell: Shell): void {
  describe(`build script under ${shell.name}`, () => {
    it('runs the script, echoes each command in green and writes the success markers', async () => {
      const r = await runJob(shell, {
        script: ['echo hello', 'echo "two words"'],
        afterScript: ['echo after $CI_JOB_STATUS'],
      });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain(
        `${GREEN}$ echo hello${RESET}\nhello\n${GREEN}$ echo "two words"${RESET}\ntwo words\n`,
      );
      expect(r.stdout).toMatch(
        /^section_start:\d+:step_script\r\x1b\[0K\x1b\[0K\x1b\[36;1mExecuting "step_script" stage of the job script\x1b\[0;m\x1b\[0;m\n/,
      );
      expect(r.stdout).toMatch(
        /section_end:\d+:step_script\r\x1b\[0Ksection_start:\d+:after_script\r\x1b\[0K\x1b\[0K\x1b\[36;1mRunning after_script\x1b\[0;m\x1b\[0;m\n/,
      );
      expect(plain(r.stdout)).toContain(
        'Running after script...\n$ echo after $CI_JOB_STATUS\nafter success\n',
      );
      expect(r.stdout).toMatch(/section_end:\d+:after_script\r\x1b\[0K\n$/);
      expect(r.started).toBe(true);
      expect(r.buildExit).toBe('0\n');
      expect(r.termination).toEqual({ exit_code: 0, timed_out: false, canceled: false });
      expect(r.stderr).toBe('');
    });

    it('stops at the first failing command with its exit code; after_script still runs', async () => {
      const r = await runJob(shell, {
        script: ['echo one', 'sh -c "exit 3"', 'echo never'],
        afterScript: ['echo "after: $CI_JOB_STATUS"'],
      });
      expect(r.exitCode).toBe(3);
      expect(plain(r.stdout)).not.toContain('never');
      expect(plain(r.stdout)).toContain('after: failed');
      expect(r.buildExit).toBe('3\n');
      expect(r.termination).toEqual({ exit_code: 3, timed_out: false, canceled: false });
    });

    it('fails a pipeline with a failing stage exactly where the shell has pipefail', async () => {
      const r = await runJob(shell, { script: ['false | cat', 'echo reached'] });
      if (hasPipefail(shell)) {
        expect(r.exitCode).toBe(1);
        expect(plain(r.stdout)).not.toContain('\nreached');
      } else {
        expect(r.exitCode).toBe(0);
        expect(plain(r.stdout)).toContain('\nreached');
      }
    });

    it('treats exit and a syntax error in a command as the step result', async () => {
      expect((await runJob(shell, { script: ['exit 42'] })).exitCode).toBe(42);
      const syntax = await runJob(shell, { script: ['echo ok', 'if then fi (', 'echo never'] });
      expect(syntax.exitCode).not.toBe(0);
      expect(plain(syntax.stdout)).not.toContain('\nnever');
    });

    it('gives every step exactly the exported values', async () => {
      const pod = makePod();
      try {
        const tricky = `it's "quoted" $HOME \`cmd\` \\n back\\slash\nsecond line\t tab ünïcødé %s`;
        writeScript(pod, {
          variables: [
            { key: 'TRICKY', value: tricky, raw: true },
            { key: 'EXPANDED_TRICKY', value: tricky },
            { key: 'WITH_NUL', value: 'a\0b' },
            { key: 'RAW', value: `$TRICKY and $${'{'}HOME}`, raw: true },
            { key: 'EXPANDED', value: `<$RAW_TARGET>-$${'{'}RAW_TARGET}-$$-$UNKNOWN.` },
            { key: 'RAW_TARGET', value: 'target' },
            { key: 'CERT', value: '-----BEGIN-----\nline\n-----END-----\n', file: true },
            { key: 'BINARYISH', value: 'x\0y\\z%d\n', file: true },
            { key: 'REFERS_TO_FILE', value: 'path=$CERT' },
            { key: 'not-a-name', value: 'skipped' },
            { key: 'OVERRIDE', value: 'first' },
            { key: 'OVERRIDE', value: 'second' },
          ],
          script: [
            `printf '%s' "$TRICKY" > "$HOME/tricky.out"`,
            `printf '%s' "$EXPANDED_TRICKY" > "$HOME/expanded-tricky.out"`,
            `printf '%s|%s|%s|%s' "$WITH_NUL" "$RAW" "$EXPANDED" "$OVERRIDE" > "$HOME/vars.out"`,
            'cat "$CERT" > "$HOME/cert.out"',
            'cat "$BINARYISH" > "$HOME/binary.out"',
            `printf '%s|%s|%s' "$CERT" "$REFERS_TO_FILE" "$PWD" > "$HOME/paths.out"`,
          ],
        });
        const r = await run(pod, [...shell.argv, join(pod.jobDir, 'build.sh')]);
        expect(r.exitCode).toBe(0);
        const { readFileSync } = await import('node:fs');
        const read = (name: string) => readFileSync(join(pod.root, name));
        expect(read('tricky.out').toString('utf8')).toBe(tricky);
        // Not raw: expanded at render time like upstream ($HOME is no job variable, so it goes).
        expect(read('expanded-tricky.out').toString('utf8')).toBe(tricky.replace('$HOME', ''));
        expect(read('vars.out').toString('utf8')).toBe(
          `ab|$TRICKY and $${'{'}HOME}|<target>-target-$-.|second`,
        );
        expect(read('cert.out').toString('utf8')).toBe('-----BEGIN-----\nline\n-----END-----\n');
        expect(read('binary.out').equals(Buffer.from('x\0y\\z%d\n', 'latin1'))).toBe(true);
        const certPath = `${pod.projectDir}.tmp/CERT`;
        expect(read('paths.out').toString('utf8')).toBe(`${certPath}|path=${certPath}|${pod.projectDir}`);
        // File variables are removed when the steps are done.
        expect(existsSync(certPath)).toBe(false);
      } finally {
        pod.cleanup();
      }
    });

    it('collapses a multi-line command in the echo, or gives it a folded section with FF_SCRIPT_SECTIONS', async () => {
      const multi = 'echo first\necho second';
      const collapsed = await runJob(shell, { script: [multi] });
      expect(collapsed.stdout).toContain(
        `${GREEN}$ echo first # collapsed multi-line command${RESET}\nfirst\nsecond\n`,
      );
      const sections = await runJob(shell, { script: ['echo x', multi], scriptSections: true });
      expect(sections.stdout).toMatch(
        /section_start:\d+:section_script_step_1\[hide_duration=true,collapsed=true\]\r\x1b\[0K\x1b\[32;1m\$ echo first\necho second\x1b\[0;m\nsection_end:\d+:section_script_step_1\r\x1b\[0K\nfirst\nsecond\n/,
      );
    });

    it('omits section markers when the job has trace sections off', async () => {
      const r = await runJob(shell, {
        script: ['echo hi'],
        afterScript: ['echo bye'],
        traceSectionsFeature: false,
      });
      expect(r.stdout).not.toContain('section_');
      expect(r.stdout.startsWith('\x1b[0K\x1b[36;1mExecuting "step_script" stage of the job script')).toBe(
        true,
      );
      expect(r.exitCode).toBe(0);
    });

    it('runs pre_build_script and post_build_script around the script, and a release step after it', async () => {
      const r = await runJob(shell, {
        preBuildScript: 'echo pre',
        postBuildScript: 'echo post',
        script: ['echo main'],
        variables: [{ key: 'TAG', value: 'v1.2' }],
        extraSteps: [
          {
            name: 'release',
            script: ['echo releasing $TAG'],
            timeout: 60,
            when: 'on_success',
            allow_failure: false,
          },
        ],
      });
      expect(r.exitCode).toBe(0);
      const out = plain(r.stdout);
      expect(out.indexOf('\npre\n')).toBeLessThan(out.indexOf('\nmain\n'));
      expect(out.indexOf('\nmain\n')).toBeLessThan(out.indexOf('\npost\n'));
      expect(out).toContain(
        // Like upstream, every user step runs pre_build_script and post_build_script.
        'Executing "step_release" stage of the job script\n$ echo pre\npre\n$ echo releasing v1.2\nreleasing v1.2\n$ echo post\npost\n',
      );
    });

    it('keeps an after_script failure from changing the result, unless AFTER_SCRIPT_IGNORE_ERRORS is false', async () => {
      const ignored = await runJob(shell, { script: ['true'], afterScript: ['exit 7'] });
      expect(ignored.exitCode).toBe(0);
      expect(plain(ignored.stdout)).toContain(
        'WARNING: after_script failed, but job will continue unaffected: command terminated with exit code 7',
      );
      const strict = await runJob(shell, {
        script: ['true'],
        afterScript: ['exit 7'],
        variables: [{ key: 'AFTER_SCRIPT_IGNORE_ERRORS', value: 'false' }],
      });
      expect(strict.exitCode).toBe(7);
    });

    it('passes GITLAB_ENV values from the script to after_script', async () => {
      const r = await runJob(shell, {
        script: ['echo "FROM_SCRIPT=hello world" >> "$GITLAB_ENV"'],
        afterScript: ['echo "seen: $FROM_SCRIPT"'],
      });
      expect(plain(r.stdout)).toContain('seen: hello world');
    });

    it('stops the user script at the job timeout, then runs after_script with its status', async () => {
      const r = await runJob(shell, {
        jobTimeoutSeconds: 1,
        script: ['echo start', 'sleep 30', 'echo never'],
        afterScript: ['echo "after: $CI_JOB_STATUS"'],
      });
      expect(r.termination).toEqual({ exit_code: r.exitCode, timed_out: true, canceled: false });
      expect(r.exitCode).not.toBe(0);
      const out = plain(r.stdout);
      expect(out).not.toContain('never');
      expect(out).toContain(
        'WARNING: step_script could not run to completion because the timeout was exceeded. For more control over job and script timeouts see: https://docs.gitlab.com/ci/runners/configure_runners/#set-script-and-after_script-timeouts',
      );
      expect(out).toContain('after: timedout');
      expect(r.elapsedMs).toBeLessThan(20_000);
    });

    it('kills a step that ignores SIGTERM after the grace period', async () => {
      const r = await runJob(shell, {
        jobTimeoutSeconds: 1,
        script: [`sh -c 'trap "" TERM; sleep 30'`],
        afterScript: ['echo after ran'],
      });
      expect(r.termination?.timed_out).toBe(true);
      expect(plain(r.stdout)).toContain('after ran');
      expect(r.elapsedMs).toBeLessThan(20_000);
    });

    it('gives after_script its own timeout without touching the job result', async () => {
      const r = await runJob(shell, {
        script: ['echo fine'],
        afterScript: ['echo after start', 'sleep 30', 'echo after never'],
        afterScriptTimeoutSeconds: 1,
      });
      expect(r.exitCode).toBe(0);
      expect(r.termination).toEqual({ exit_code: 0, timed_out: false, canceled: false });
      const out = plain(r.stdout);
      expect(out).not.toContain('after never');
      expect(out).toContain(
        'WARNING: after_script could not run to completion because the timeout was exceeded.',
      );
      expect(out).toContain(
        'WARNING: after_script failed, but job will continue unaffected: context deadline exceeded',
      );
    });

    it('honours RUNNER_SCRIPT_TIMEOUT and an absolute deadline, and warns about bad values', async () => {
      const short = await runJob(shell, {
        script: ['sleep 30'],
        variables: [{ key: 'RUNNER_SCRIPT_TIMEOUT', value: '1s' }],
      });
      expect(short.termination?.timed_out).toBe(true);
      const deadline = await runJob(shell, {
        script: ['sleep 30'],
        deadlineEpochSeconds: Date.now() / 1000 + 1,
      });
      expect(deadline.termination?.timed_out).toBe(true);
      const past = await runJob(shell, {
        script: ['echo should not run'],
        afterScript: ['echo "after: $CI_JOB_STATUS"'],
        deadlineEpochSeconds: Date.now() / 1000 - 5,
      });
      expect(past.termination).toEqual({ exit_code: 1, timed_out: true, canceled: false });
      expect(plain(past.stdout)).not.toContain('should not run\n');
      expect(plain(past.stdout)).toContain('after: timedout');
      const bad = await runJob(shell, {
        script: ['true'],
        variables: [
          { key: 'RUNNER_SCRIPT_TIMEOUT', value: 'soon' },
          { key: 'RUNNER_AFTER_SCRIPT_TIMEOUT', value: '2h' },
        ],
        jobTimeoutSeconds: 3600,
      });
      expect(plain(bad.stdout)).toContain(
        'WARNING: Ignoring malformed RUNNER_SCRIPT_TIMEOUT timeout: soon\n',
      );
      expect(plain(bad.stdout)).toContain(
        'WARNING: RUNNER_AFTER_SCRIPT_TIMEOUT timeout: 2h is longer than job timeout. Setting to job timeout\n',
      );
    });

    it('on SIGTERM stops the user script, runs after_script and reports the cancel', async () => {
      const r = await runJob(
        shell,
        {
          script: ['echo begin', 'sleep 30', 'echo never'],
          afterScript: ['echo "after: $CI_JOB_STATUS"', 'sleep 1', 'echo after done'],
        },
        { cancelWhen: 'begin\n' },
      );
      const out = plain(r.stdout);
      expect(out).toContain('WARNING: script canceled externally (UI, API)');
      expect(out).not.toContain('\nnever');
      expect(out).toContain('after: canceled\n');
      expect(out).toContain('after done\n');
      expect(r.exitCode).not.toBe(0);
      expect(r.termination).toEqual({ exit_code: r.exitCode, timed_out: false, canceled: true });
      expect(r.buildExit).toBe(`${r.exitCode}\n`);
    });

    // A step that ends as a trapped signal interrupts the shell's `wait` (a timer firing, a cancel
    // that reaches every process) must not leave the script waiting out the kill grace: bash 5
    // loses such a child's status, and a plain `wait` for it blocks until another child changes.
    it('ends a timed-out step without waiting out the kill grace', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await runJob(shell, {
          jobTimeoutSeconds: 1,
          killGraceSeconds: 15,
          script: ['sleep 30'],
          afterScript: ['echo after ran'],
        });
        expect(r.termination?.timed_out).toBe(true);
        expect(plain(r.stdout)).toContain('after ran');
        expect(r.elapsedMs).toBeLessThan(10_000);
      }
    });

    it('runs after_script at once when SIGTERM reaches every process of the container', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await runJob(
          shell,
          {
            killGraceSeconds: 15,
            script: ['echo begin', 'sleep 30', 'echo never'],
            afterScript: ['echo "after: $CI_JOB_STATUS"'],
          },
          { cancelWhen: 'begin\n', cancelAll: true },
        );
        expect(r.termination).toEqual({ exit_code: r.exitCode, timed_out: false, canceled: true });
        expect(plain(r.stdout)).toContain('after: canceled\n');
        expect(r.elapsedMs).toBeLessThan(10_000);
      }
    });

    it('does not lose a SIGTERM that arrives while the user step is being started', async () => {
      const r = await runJob(
        shell,
        {
          // The warning is printed just before the step starts: the cancel lands in that window.
          variables: [{ key: 'RUNNER_SCRIPT_TIMEOUT', value: 'soon' }],
          script: ['sleep 20', 'echo never'],
          afterScript: ['echo "after: $CI_JOB_STATUS"'],
        },
        { cancelWhen: 'Ignoring malformed' },
      );
      expect(r.termination).toEqual({ exit_code: r.exitCode, timed_out: false, canceled: true });
      expect(r.exitCode).not.toBe(0);
      expect(plain(r.stdout)).not.toContain('\nnever');
      expect(plain(r.stdout)).toContain('after: canceled');
      expect(r.elapsedMs).toBeLessThan(15_000);
    });

    it('traces commands with CI_DEBUG_TRACE and warns that secrets may show', async () => {
      const r = await runJob(shell, {
        debugTrace: true,
        script: ['echo traced'],
        variables: [{ key: 'SOME_VAR', value: 'shown' }],
      });
      expect(r.exitCode).toBe(0);
      expect(plain(r.stdout)).toContain('WARNING: CI_DEBUG_TRACE is enabled');
      expect(r.stderr).toMatch(/\+ .*echo traced/);
      expect(r.stderr).toContain('SOME_VAR');
    });

    it('runs user commands with fd 9 closed, so build.alive reaches EOF when the script exits', async () => {
      const pod = makePod();
      try {
        writeScript(pod, {
          script: [
            'if [ -e /proc/self/fd/9 ]; then echo "fd9 open"; else echo "fd9 closed"; fi',
            'sleep 30 >/dev/null 2>&1 </dev/null &',
            'echo $! > "$HOME/bg.pid"',
          ],
        });
        const startedSeen = new Promise<void>((resolve) => {
          const watcher = watch(pod.statusDir, () => {
            if (existsSync(join(pod.statusDir, 'build.started'))) {
              watcher.close();
              resolve();
            }
          });
        });
        let eofWhileBackgroundAlive: boolean | null = null;
        const result = run(pod, [...shell.argv, join(pod.jobDir, 'build.sh')], { leaveGroup: true });
        await startedSeen;
        // The uploader's side of the contract: open read-only non-blocking, poll until no writer is left.
        const fd = openSync(join(pod.statusDir, 'build.alive'), constants.O_RDONLY | constants.O_NONBLOCK);
        const buf = Buffer.alloc(16);
        for (let i = 0; i < 1000; i++) {
          try {
            if (readSync(fd, buf, 0, buf.length, null) === 0) break;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        closeSync(fd);
        const { readFileSync } = await import('node:fs');
        const bgPid = Number(readFileSync(join(pod.root, 'bg.pid'), 'utf8'));
        try {
          process.kill(bgPid, 0);
          eofWhileBackgroundAlive = true;
        } catch {
          eofWhileBackgroundAlive = false;
        }
        const r = await result;
        process.kill(bgPid, 'SIGKILL');
        expect(plain(r.stdout)).toContain('\nfd9 closed\n');
        expect(r.exitCode).toBe(0);
        expect(eofWhileBackgroundAlive).toBe(true);
      } finally {
        pod.cleanup();
      }
    });
  });
}
