#!/bin/sh
# The compose development stack (docker-compose.yml) in one command:
#   scripts/dev-stack.sh up     build both images, start GitLab CE + k3s + podrunner
#   scripts/dev-stack.sh down   stop it (add -v to the compose command to drop the data volumes)
# Needs Docker with the compose plugin (`docker compose`) or docker-compose.
set -eu
cd "$(dirname "$0")/.."

if docker compose version >/dev/null 2>&1; then
  compose() { docker compose "$@"; }
else
  compose() { docker-compose "$@"; }
fi

random() {
  # $1 characters of [A-Za-z0-9]
  LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "$1"
}

case "${1:-}" in
up)
  if [ ! -f .env ]; then
    printf 'GITLAB_ROOT_PASSWORD=%s\nGITLAB_ADMIN_TOKEN=glpat-%s\n' "$(random 32)" "$(random 24)" >.env
    echo "dev-stack: wrote random GITLAB_ROOT_PASSWORD and GITLAB_ADMIN_TOKEN to .env"
  fi
  docker build -f images/helper/Dockerfile -t ghcr.io/podrunner/helper:dev .
  compose build podrunner
  compose up -d gitlab k3s
  echo "dev-stack: waiting for k3s"
  tries=0
  until compose exec -T k3s kubectl get --raw=/readyz >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || { echo "dev-stack: k3s did not become ready" >&2; exit 1; }
    sleep 5
  done
  echo "dev-stack: importing the helper image into k3s"
  docker save ghcr.io/podrunner/helper:dev | compose exec -T k3s ctr -n k8s.io images import -
  echo "dev-stack: starting the manager once GitLab is healthy (the first boot takes 5-15 minutes)"
  compose up -d podrunner
  echo "dev-stack: GitLab at http://localhost:8929 (root / GITLAB_ROOT_PASSWORD in .env)"
  echo "dev-stack: manager logs: docker compose logs -f podrunner"
  ;;
down)
  compose down
  ;;
*)
  echo "usage: $0 up|down" >&2
  exit 2
  ;;
esac
