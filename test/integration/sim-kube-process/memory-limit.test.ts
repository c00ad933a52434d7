// resources.limits.memory, enforced with a memory cgroup where the host has one.
import { describe, expect, it } from 'vitest';
import { memoryCgroupsAvailable } from '../../../src/sim/kube/process/memory-cgroup.ts';
import { createProcessRuntime } from '../../../src/sim/kube/process/process-runtime.ts';
import { run, sandboxSpec, unsupportedReason } from './support.ts';

const cgroupsReason =
  unsupportedReason ??
  (memoryCgroupsAvailable() ? undefined : 'no usable memory cgroup controller here: limits are not enforced');

describe.skipIf(cgroupsReason)('process mode: memory limits', () => {
  it('OOM-kills a container that goes over its memory limit, and one that stays under lives', async () => {
    const runtime = createProcessRuntime();
    expect(runtime.memoryLimits).toBe(true);
    try {
      const sandbox = await runtime.createSandbox(sandboxSpec());
      const hog = (megabytes: number) => ({
        image: 'node:22',
        memoryLimitBytes: 96 * 1024 * 1024,
        command: [
          'node',
          '-e',
          `const kept = []; for (let i = 0; i < ${megabytes}; i++) kept.push(Buffer.alloc(1 << 20, 1)); console.log('survived')`,
        ],
      });
      const over = await run(sandbox, hog(400));
      expect(over.exit).toMatchObject({ exitCode: 137, oomKilled: true });
      expect(over.stdout).toBe('');
      const under = await run(sandbox, hog(8));
      expect(under.exit).toMatchObject({ exitCode: 0, oomKilled: false });
      expect(under.stdout).toBe('survived\n');
      await sandbox.destroy();
    } finally {
      await runtime.close();
    }
  });
});
