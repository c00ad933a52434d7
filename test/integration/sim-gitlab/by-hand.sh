#!/usr/bin/env bash
# Drives the embedded GitLab the way a person drives GitLab, with nothing but curl and git: creates a
# runner and a project, pushes a two-stage pipeline, starts it, plays the runner by hand and reads the
# trace back. Usage: by-hand.sh URL ADMIN_TOKEN_FILE WORKDIR
set -euo pipefail

URL=$1
TOKEN=$(cat "$2")
WORK=$3
API="$URL/api/v4"
HOSTPORT=${URL#http://}

fail() { echo "FAIL: $*" >&2; exit 1; }
# json_string KEY < json: the first "KEY":"value" string
json_string() { grep -o "\"$1\":\"[^\"]*\"" | head -n1 | sed "s/^\"$1\":\"//; s/\"\$//"; }
# json_number KEY < json: the first "KEY":123 number
json_number() { grep -o "\"$1\":[0-9]*" | head -n1 | sed "s/^\"$1\"://"; }
# status METHOD URL [curl args...]: prints the HTTP status, body to $WORK/body, headers to $WORK/headers
status() {
  local method=$1 url=$2
  shift 2
  curl -sS -X "$method" -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' "$@" "$url"
}
header() { grep -i "^$1:" "$WORK/headers" | head -n1 | cut -d: -f2- | tr -d ' \r'; }

export GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1 HOME="$WORK/home"
mkdir -p "$HOME"
git config --global user.name "Jane Doe"
git config --global user.email jane@example.com
git config --global init.defaultBranch main

echo "== create a runner"
[ "$(status POST "$API/user/runners" -H "PRIVATE-TOKEN: $TOKEN" \
  --data "runner_type=instance_type&description=by-hand&run_untagged=true")" = 201 ] || fail "runner: $(cat "$WORK/body")"
RUNNER_TOKEN=$(json_string token <"$WORK/body")
case "$RUNNER_TOKEN" in glrt-*) ;; *) fail "runner token $RUNNER_TOKEN" ;; esac
[ "$(status POST "$API/user/runners" -H "PRIVATE-TOKEN: wrong" --data "runner_type=instance_type")" = 401 ] || fail "bad PAT accepted"

echo "== verify it"
[ "$(status POST "$API/runners/verify" -H 'Content-Type: application/json' \
  --data "{\"token\":\"$RUNNER_TOKEN\",\"system_id\":\"s_0123456789ab\"}")" = 200 ] || fail "verify"

echo "== create a project"
[ "$(status POST "$API/projects" -H "PRIVATE-TOKEN: $TOKEN" --data "name=hello&path=hello")" = 201 ] || fail "project: $(cat "$WORK/body")"
PROJECT_ID=$(json_number id <"$WORK/body")
PROJECT_PATH=$(json_string path_with_namespace <"$WORK/body")
[ "$PROJECT_PATH" = root/hello ] || fail "project path $PROJECT_PATH"

echo "== push a repository with a two-stage .gitlab-ci.yml"
mkdir -p "$WORK/src" && cd "$WORK/src"
git init -q .
cat >.gitlab-ci.yml <<'YAML'
stages: [build, test]
build-job:
  stage: build
  script:
    - echo building
unit-tests:
  stage: test
  script:
    - echo testing
YAML
echo hello >README.md
git add . && git commit -qm "Add a pipeline"
SHA=$(git rev-parse HEAD)
if git push -q "http://root:wrong-token@$HOSTPORT/$PROJECT_PATH.git" main 2>"$WORK/push.err"; then fail "push with a wrong password worked"; fi
grep -q "Authentication failed" "$WORK/push.err" || fail "wrong password: $(cat "$WORK/push.err")"
git push -q "http://root:$TOKEN@$HOSTPORT/$PROJECT_PATH.git" main
cd "$WORK"

echo "== start a pipeline"
[ "$(status POST "$API/projects/$PROJECT_ID/pipeline?ref=main" -H "PRIVATE-TOKEN: $TOKEN")" = 201 ] || fail "pipeline: $(cat "$WORK/body")"
PIPELINE_ID=$(json_number id <"$WORK/body")
[ "$(json_string sha <"$WORK/body")" = "$SHA" ] || fail "pipeline sha"

echo "== request a job as the runner"
REQUEST="{\"token\":\"$RUNNER_TOKEN\",\"system_id\":\"s_0123456789ab\",\"info\":{\"name\":\"gitlab-runner\",\"version\":\"18.11.4\",\"executor\":\"kubernetes\",\"features\":{\"cancelable\":true,\"two_phase_job_commit\":true,\"trace_checksum\":true}}}"
[ "$(status POST "$API/jobs/request" -H 'Content-Type: application/json' --data "$REQUEST")" = 201 ] || fail "request: $(cat "$WORK/body")"
[ "$(header Content-Type)" = application/json ] || fail "content type $(header Content-Type)"
JOB_ID=$(json_number id <"$WORK/body")
JOB_TOKEN=$(json_string token <"$WORK/body")
grep -q '"name":"build-job"' "$WORK/body" || fail "first job is not build-job"
grep -q "\"repo_url\":\"http://gitlab-ci-token:$JOB_TOKEN@$HOSTPORT/$PROJECT_PATH.git\"" "$WORK/body" || fail "repo_url"
cp "$WORK/body" "$WORK/job.json"

echo "== accept it (two-phase commit)"
[ "$(status PUT "$API/jobs/$JOB_ID" -H 'Content-Type: application/json' -H "JOB-TOKEN: $JOB_TOKEN" \
  --data "{\"token\":\"$JOB_TOKEN\",\"state\":\"running\",\"output\":{}}")" = 200 ] || fail "accept"
[ "$(header Job-Status)" = running ] || fail "Job-Status after accept: $(header Job-Status)"

echo "== clone with the job token, as the helper does"
git clone -q "http://gitlab-ci-token:$JOB_TOKEN@$HOSTPORT/$PROJECT_PATH.git" "$WORK/clone"
git -C "$WORK/clone" fetch -q origin "+refs/pipelines/$PIPELINE_ID:refs/pipelines/$PIPELINE_ID"
[ "$(git -C "$WORK/clone" rev-parse "refs/pipelines/$PIPELINE_ID")" = "$SHA" ] || fail "pipeline ref"

echo "== send the trace in two chunks, one at a wrong offset first"
printf '\033[0KRunning with gitlab-runner 18.11.4\033[0;m\n$ echo building\n' >"$WORK/part1"
printf 'building\n\033[32;1mJob succeeded\033[0;m\n' >"$WORK/part2"
LEN1=$(wc -c <"$WORK/part1" | tr -d ' ')
LEN2=$(wc -c <"$WORK/part2" | tr -d ' ')
[ "$(status PATCH "$API/jobs/$JOB_ID/trace?debug_trace=false" -H "JOB-TOKEN: $JOB_TOKEN" -H 'Content-Type: text/plain' \
  -H "Content-Range: 0-$((LEN1 - 1))" --data-binary "@$WORK/part1")" = 202 ] || fail "patch 1"
[ "$(header Range)" = "0-$LEN1" ] || fail "Range after patch 1: $(header Range)"
[ "$(header Job-Status)" = running ] || fail "Job-Status on patch"
[ -n "$(header X-GitLab-Trace-Update-Interval)" ] || fail "no update interval"
[ "$(status PATCH "$API/jobs/$JOB_ID/trace?debug_trace=false" -H "JOB-TOKEN: $JOB_TOKEN" -H 'Content-Type: text/plain' \
  -H "Content-Range: $((LEN1 + 10))-$((LEN1 + 10 + LEN2 - 1))" --data-binary "@$WORK/part2")" = 416 ] || fail "wrong offset not 416"
[ "$(header Range)" = "0-$LEN1" ] || fail "Range on 416: $(header Range)"
[ "$(status PATCH "$API/jobs/$JOB_ID/trace?debug_trace=false" -H "JOB-TOKEN: $JOB_TOKEN" -H 'Content-Type: text/plain' \
  -H "Content-Range: $LEN1-$((LEN1 + LEN2 - 1))" --data-binary "@$WORK/part2")" = 202 ] || fail "patch 2"
[ "$(header Range)" = "0-$((LEN1 + LEN2))" ] || fail "Range after patch 2: $(header Range)"

echo "== report success with the checksum"
cat "$WORK/part1" "$WORK/part2" >"$WORK/trace"
# CRC-32 from gzip's trailer (little-endian on disk; od prints it in host order).
CRC=$(gzip -c <"$WORK/trace" | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')
SIZE=$(wc -c <"$WORK/trace" | tr -d ' ')
[ "$(status PUT "$API/jobs/$JOB_ID" -H 'Content-Type: application/json' -H "JOB-TOKEN: $JOB_TOKEN" \
  --data "{\"token\":\"$JOB_TOKEN\",\"state\":\"success\",\"checksum\":\"crc32:$CRC\",\"output\":{\"checksum\":\"crc32:$CRC\",\"bytesize\":$SIZE}}")" = 200 ] ||
  fail "final update: $(cat "$WORK/body")"

echo "== read the trace back"
curl -sS -f -H "PRIVATE-TOKEN: $TOKEN" -o "$WORK/trace.back" "$API/projects/$PROJECT_ID/jobs/$JOB_ID/trace"
cmp "$WORK/trace" "$WORK/trace.back" || fail "trace differs"
curl -sS -f -H "PRIVATE-TOKEN: $TOKEN" "$API/projects/$PROJECT_ID/jobs/$JOB_ID" | grep -q '"status":"success"' || fail "job not success"

echo "== the finished job's token no longer clones, nor does a token of a job not yet running"
if git clone -q "http://gitlab-ci-token:$JOB_TOKEN@$HOSTPORT/$PROJECT_PATH.git" "$WORK/clone2" 2>"$WORK/clone.err"; then
  fail "clone with a finished job's token worked"
fi
grep -q "Authentication failed" "$WORK/clone.err" || fail "finished token: $(cat "$WORK/clone.err")"
if git clone -q "http://gitlab-ci-token:glcbt-not-a-token@$HOSTPORT/$PROJECT_PATH.git" "$WORK/clone3" 2>/dev/null; then
  fail "clone with a made-up token worked"
fi
[ "$(status PUT "$API/jobs/$JOB_ID" -H 'Content-Type: application/json' --data "{\"token\":\"$JOB_TOKEN\",\"state\":\"running\"}")" = 403 ] ||
  fail "update of a finished job not 403"
[ "$(header Job-Status)" = success ] || fail "Job-Status of the finished job: $(header Job-Status)"

echo "== the second stage is queued now"
curl -sS -f -H "PRIVATE-TOKEN: $TOKEN" "$API/projects/$PROJECT_ID/pipelines/$PIPELINE_ID/jobs" >"$WORK/jobs.json"
grep -q '"status":"pending","stage":"test","name":"unit-tests"' "$WORK/jobs.json" || fail "unit-tests not pending: $(cat "$WORK/jobs.json")"
[ "$(status POST "$API/jobs/request" -H 'Content-Type: application/json' --data "$REQUEST")" = 201 ] || fail "second request"
grep -q '"name":"unit-tests"' "$WORK/body" || fail "second job is not unit-tests"

echo "ALL OK"
