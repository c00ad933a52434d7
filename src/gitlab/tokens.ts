// Runner token facts the manager needs (gitlab-runner-api.md §1.1, kubernetes-executor.md §2.1). Tokens are
// opaque otherwise: never parsed, never logged whole.

/** A token created in GitLab's UI/API ("new workflow"): `register` verifies it, `unregister` deletes the manager. */
export function isCreatedRunnerToken(token: string): boolean {
  return token.startsWith('glrt-');
}

const prefixes = [/^glrt-t\d_/, /^glrtr-/, /^glrt-/, /^glcbt-/, /^t\d_/, /^GR\d{7}/];

/** The first 9 characters after the known prefixes: what logs, metrics and pod names show. */
export function shortToken(token: string): string {
  let t = token;
  for (const p of prefixes) {
    if (p.test(t)) {
      t = t.replace(p, '');
      break;
    }
  }
  return t.slice(0, 9);
}
