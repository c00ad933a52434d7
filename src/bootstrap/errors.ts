export type BootstrapErrorCode =
  | 'config_invalid'
  | 'gitlab_unreachable'
  | 'admin_token_rejected'
  | 'not_admin'
  | 'runner_create_failed'
  | 'answer_invalid'
  | 'kubeconfig_invalid';

/** A bootstrap step that cannot go on; `code` says which, the message says what to fix. */
export class BootstrapError extends Error {
  readonly code: BootstrapErrorCode;

  constructor(code: BootstrapErrorCode, message: string) {
    super(message);
    this.name = 'BootstrapError';
    this.code = code;
  }
}
