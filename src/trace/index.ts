// The trace pipeline: masking, timestamps, sections and messages, output limit, the trace buffer
// and the sender that PATCHes it to GitLab.
export * from './ansi.ts';
export * from './clock.ts';
export * from './failure-reasons.ts';
export * from './feature-flags.ts';
export * from './job-errors.ts';
export * from './job-trace.ts';
export * from './masking.ts';
export * from './messages.ts';
export * from './timestamper.ts';
export * from './timing.ts';
export * from './trace-buffer.ts';
export * from './trace-sender.ts';
export * from './trace-spool.ts';
export { incompleteTail, truncateUtf8, Utf8Sanitizer } from './utf8.ts';
