// The build container's command picks a shell the way upstream does and runs the build script.
import { describe, expect, it } from 'vitest';
import { makePod, plain, run, writeScript } from './harness.ts';

describe('shell-detection command', () => {
  it('starts the build script with bash when the image has it', async () => {
    const pod = makePod();
    try {
      const { command } = writeScript(pod, { script: ['echo "bash version: $BASH_VERSION"'] });
      expect(command.slice(0, 2)).toEqual(['sh', '-c']);
      const r = await run(pod, command);
      expect(r.exitCode).toBe(0);
      expect(plain(r.stdout)).toMatch(/\nbash version: \d+\.\d+/);
    } finally {
      pod.cleanup();
    }
  });
});
