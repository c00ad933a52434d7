#!/bin/sh
# The sample project's tests: a few checks, reported TAP-style; the first failing one fails the job.
n=0
check() {
  n=$((n + 1))
  description=$1
  shift
  if "$@"; then
    echo "ok $n - $description"
  else
    echo "not ok $n - $description"
    exit 1
  fi
}

check "the Dockerfile is in the checkout" test -f Dockerfile
check "the project is checked out under /builds" test "${CI_PROJECT_DIR#/builds/}" != "$CI_PROJECT_DIR"
check "the job runs in a job pod (runner-…)" sh -c 'hostname | grep -q "^runner-"'
echo "1..$n"
