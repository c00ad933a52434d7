// Errors of the process-mode runtime. Callers branch on `code`, never on the message.

export type ProcessRuntimeErrorCode =
  /** Neither root nor unprivileged user namespaces: per-pod /builds, localhost and hostname cannot be given. */
  | 'isolation-unavailable'
  /** A program the runtime needs (unshare, nsenter, setpriv, mount, ip, bash) is not installed. */
  | 'missing-tool'
  /** The image table file or object does not validate. */
  | 'image-table-invalid'
  /** A hostPath volume fails its `type` check. */
  | 'host-path-type'
  /** A mount's subPath escapes its volume. */
  | 'invalid-sub-path'
  /** The pod's holder process (its namespaces) did not come up. */
  | 'sandbox-failed'
  /** The sandbox or the runtime was already destroyed. */
  | 'closed';

export class ProcessRuntimeError extends Error {
  override readonly name = 'ProcessRuntimeError';
  readonly code: ProcessRuntimeErrorCode;

  constructor(code: ProcessRuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
