#!/bin/sh
# Bring up a podrunner manager against a GitLab without a browser: wait for GitLab, get an admin
# credential, create an instance runner (POST /api/v4/user/runners) or reuse the one saved before,
# register it into a config.toml, then become `podrunner run`.
#
# Works against GitLab CE (the compose stack runs it in the manager container) and against the
# embedded GitLab:
#   podrunner sim gitlab --listen 127.0.0.1:8080 --admin-token-file /tmp/admin-token &
#   GITLAB_URL=http://127.0.0.1:8080 GITLAB_ADMIN_TOKEN_FILE=/tmp/admin-token scripts/bootstrap-runner.sh
#
# Settings (environment):
#   GITLAB_URL                  GitLab as the manager reaches it (required)
#   GITLAB_ADMIN_TOKEN          an administrator's personal access token, or
#   GITLAB_ADMIN_TOKEN_FILE     a file holding it (waited for), or
#   GITLAB_ROOT_PASSWORD        root's password (OAuth password grant)
#   GITLAB_WAIT_SECONDS         how long to wait for GitLab (1200)
#   RUNNER_NAME, RUNNER_TAGS    the runner's description and tags (podrunner-dev; podrunner,kubernetes,docker)
#   PODRUNNER_STATE_DIR         runner token, config.toml, kubeconfig (.dev/podrunner in the checkout)
#   PODRUNNER_TEMPLATE          a [[runners]] template for `register --template-config` (none)
#   KUBERNETES_NAMESPACE        the job namespace when the template names none
#   KUBECONFIG_SOURCE, KUBE_SERVER  copy a kubeconfig, pointing it at KUBE_SERVER (k3s in compose)
#   LISTEN_ADDRESS              the manager's /metrics, /healthz, /readyz address (127.0.0.1:9252)
#   BOOTSTRAP_START_MANAGER     0: stop after registering
#   PODRUNNER                   the podrunner command (podrunner on PATH, else this checkout's)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
PODRUNNER_STATE_DIR=${PODRUNNER_STATE_DIR:-$root/.dev/podrunner}
export PODRUNNER_STATE_DIR
mkdir -p "$PODRUNNER_STATE_DIR"

# Node >= 22.18 runs the TypeScript directly: the checkout's pinned Node first, then the one on PATH.
node=${NODE:-}
if [ -z "$node" ]; then
  if [ -x "$root/node_modules/.bin/node" ]; then node=$root/node_modules/.bin/node; else node=node; fi
fi

# The podrunner command, kept in "$@" so that it can be exec'd at the end.
if [ -n "${PODRUNNER:-}" ]; then
  # shellcheck disable=SC2086 # a command with arguments, split on purpose
  set -- $PODRUNNER
elif command -v podrunner >/dev/null 2>&1; then
  set -- podrunner
else
  set -- "$node" "$root/bin/podrunner.js"
fi

"$node" "$root/src/bootstrap/main.ts"

config="$PODRUNNER_STATE_DIR/config.toml"
# register adds a [[runners]] entry: start from an empty file every time.
rm -f "$config"
CI_SERVER_TOKEN=$(cat "$PODRUNNER_STATE_DIR/runner-token")
export CI_SERVER_TOKEN
if [ -n "${PODRUNNER_TEMPLATE:-}" ]; then
  "$@" register --non-interactive --url "$GITLAB_URL" --executor kubernetes \
    --name "${RUNNER_NAME:-podrunner-dev}" --template-config "$PODRUNNER_TEMPLATE" --config "$config"
else
  "$@" register --non-interactive --url "$GITLAB_URL" --executor kubernetes \
    --name "${RUNNER_NAME:-podrunner-dev}" --kubernetes-namespace "${KUBERNETES_NAMESPACE:-default}" \
    --config "$config"
fi
unset CI_SERVER_TOKEN
echo "bootstrap: runner registered in $config" >&2

if [ "${BOOTSTRAP_START_MANAGER:-1}" = 0 ]; then
  exit 0
fi
if [ -f "$PODRUNNER_STATE_DIR/kubeconfig" ]; then
  KUBECONFIG=$PODRUNNER_STATE_DIR/kubeconfig
  export KUBECONFIG
fi
exec "$@" run --config "$config" --listen-address "${LISTEN_ADDRESS:-127.0.0.1:9252}"
