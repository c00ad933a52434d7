import { describe, expect, it } from 'vitest';
import { phaseDurations } from '../../../src/job/phase-times.ts';
import type { PodObject } from '../../../src/kubernetes/wire.ts';

const t = (s: string) => `2026-11-26T10:00:${s}Z`;
const at = (s: string) => Date.parse(`2026-11-26T10:00:${s}Z`);

/** A finished job pod as the kubelet reports it: every status time in whole seconds. */
const pod: PodObject = {
  metadata: { creationTimestamp: t('00') },
  status: {
    conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: t('01') }],
    initContainerStatuses: [
      { name: 'helper', state: { terminated: { exitCode: 0, startedAt: t('02'), finishedAt: t('04') } } },
    ],
    containerStatuses: [
      { name: 'build', state: { terminated: { exitCode: 0, startedAt: t('04'), finishedAt: t('04') } } },
      { name: 'uploader', state: { terminated: { exitCode: 0, startedAt: t('04'), finishedAt: t('05') } } },
    ],
  } as PodObject['status'],
};

describe('phaseDurations', () => {
  it('reads the phases from the statuses, whole seconds', () => {
    expect(phaseDurations(pod, 3)).toEqual({
      queuedMs: 3000,
      scheduledMs: 1000,
      imagePullMs: 1000,
      initMs: 2000,
      scriptMs: 0,
      uploadMs: 1000,
    });
  });

  it('ends phases at their last log record, and starts the script at its first, inside a status second', () => {
    const d = phaseDurations(pod, null, {
      helper: { firstMs: at('02.250'), lastMs: at('04.100') },
      build: { firstMs: at('04.200'), lastMs: at('04.650') },
      uploader: { firstMs: at('04.700'), lastMs: at('05.300') },
    });
    expect(d).toEqual({
      scheduledMs: 1000,
      imagePullMs: 1000,
      initMs: 2100,
      scriptMs: 450,
      uploadMs: 650,
    });
  });

  it('keeps a status time when the record lies outside its second', () => {
    // the script printed its last line at 03.9 and then slept past the next second
    const d = phaseDurations(pod, null, { build: { firstMs: at('03.900'), lastMs: at('03.950') } });
    expect(d.scriptMs).toBe(0);
  });
});
