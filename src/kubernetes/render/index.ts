// Pod and Secret rendering of one job: pure functions (architecture.md §2, docs/pod-contract.md).
export * from './contract.ts';
export * from './errors.ts';
export { makeRfc1123Compatible, podName, projectUniqueName, suffixFromBytes } from './pod-name.ts';
export { podSpecPatchPaths } from './pod-spec-patches.ts';
export { type RenderedJob, type RenderedService, type RenderJobInput, renderJob } from './render-job.ts';
export { jobVariableKey, secretOwnerReference, serviceVariableKey } from './secret.ts';
export { jobNeedsUploader } from './uploads.ts';
export type { RenderVariable } from './variables.ts';
export { VariableSet } from './variables.ts';
