// The build script's real output (bash) through the trace pipeline: a masked variable printed whole,
// split across two writes, and shown by CI_DEBUG_TRACE never reaches the trace.
import { describe, expect, it } from 'vitest';
import { expandVariables, maskedValues, type ScriptVariable } from '../../../src/scripts/index.ts';
import { JobTrace, STREAM_JOB } from '../../../src/trace/index.ts';
import { runJob, SHELLS } from '../scripts/harness.ts';

const SECRET = 'Sup3r-Secret_Value.42';

describe('build script output through the trace', () => {
  it('never lets a masked value through, whole, split across writes, or traced', async () => {
    // Two traces: the live one as the log follower would feed it (stdout and stderr, timestamped),
    // and stdout fed one byte per write.
    const variables: ScriptVariable[] = [
      { key: 'SECRET', value: SECRET, masked: true },
      { key: 'DERIVED', value: 'prefix-$SECRET', masked: true },
    ];
    const phrases = maskedValues(expandVariables(variables, '/builds/p'));
    expect(phrases).toEqual([SECRET, `prefix-${SECRET}`]);
    const live = new JobTrace({ timestamps: true, phrases, clock: () => 0 });
    const byteByByte = new JobTrace({ timestamps: false, phrases });
    const r = await runJob(
      SHELLS[0]!,
      {
        debugTrace: true,
        variables,
        script: [
          'echo "whole: $SECRET"',
          // One command, two writes 300 ms apart: the value reaches the manager in two chunks.
          `printf 'split: %s' "$(printf '%s' "$SECRET" | cut -c1-10)"; sleep 0.3; printf '%s\\n' "$(printf '%s' "$SECRET" | cut -c11-)"`,
          'echo "derived: $DERIVED"',
        ],
      },
      {
        onData: (stream, chunk) => {
          live.stream(STREAM_JOB, stream === 'stdout' ? 'O' : 'E').write(chunk);
          // Without timestamps stdout and stderr interleave freely; this one takes stdout alone.
          if (stream === 'stdout')
            for (const b of chunk) byteByByte.stream(STREAM_JOB).write(Uint8Array.of(b));
        },
      },
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout + r.stderr).toContain(SECRET); // the raw output has it…
    for (const trace of [live, byteByByte]) {
      trace.finish();
      const text = Buffer.from(trace.buffer.bytes(0, trace.buffer.size)).toString('utf8');
      expect(text).not.toContain(SECRET); // …the trace never does
      expect(text).not.toContain(SECRET.slice(0, 10) + SECRET.slice(10)); // not even rejoined
      expect(text).toContain('whole: [MASKED]');
      expect(text).toContain('split: [MASKED]');
      expect(text).toContain('derived: [MASKED]');
    }
  });
});
