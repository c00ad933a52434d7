# podrunner build script runtime (POSIX sh: bash, dash, busybox ash). src/scripts/build-script.ts
# puts the job's settings before this part and the job's exports and steps after it, then calls
# _pr_main. Contract: docs/pod-contract.md.

# A cancel that arrives before the handlers below exist still counts.
_pr_canceled=0
trap '_pr_canceled=1' TERM INT

# Paths may be overridden at run time (tests, simulators).
[ -n "${PODRUNNER_STATUS_DIR:-}" ] && _pr_status_dir=$PODRUNNER_STATUS_DIR
[ -n "${PODRUNNER_JOB_DIR:-}" ] && _pr_job_dir=$PODRUNNER_JOB_DIR
[ -n "${PODRUNNER_TERMINATION_LOG:-}" ] && _pr_termination_log=$PODRUNNER_TERMINATION_LOG

_pr_main_pid=$$
_pr_phase=setup
_pr_timed_out=0
_pr_after_timed_out=0
_pr_steps_done=0
_pr_woke=0
_pr_child=
_pr_stopping=0
_pr_step_timer=
_pr_grace_timer=
_pr_rc=0

# Unix time for section markers: date, or awk where there is no date.
_pr_ts() { date +%s 2>/dev/null || awk 'BEGIN { srand(); print srand() }' 2>/dev/null || echo 0; }

_pr_section_start() {
  [ "$_pr_sections" = 1 ] && printf 'section_start:%s:%s\r\033[0K' "$(_pr_ts)" "$1"
  return 0
}
_pr_section_end() {
  [ "$_pr_sections" = 1 ] && printf 'section_end:%s:%s\r\033[0K' "$(_pr_ts)" "$1"
  return 0
}
_pr_stage_title() { printf '\033[0K\033[36;1m%s\033[0;m\033[0;m\n' "$1"; }
_pr_warning() { printf '\033[0;33mWARNING: %s\033[0;m\n' "$1"; }
_pr_bool() { if [ "$1" = 1 ]; then echo true; else echo false; fi; }

# Descendants of process $1, from /proc (no ps, setsid or job control needed): through the
# per-thread `children` lists where the kernel has them, else by scanning every process's parent.
if [ -r "/proc/$$/task/$$/children" ]; then _pr_proc_children=1; else _pr_proc_children=0; fi
_pr_descendants() {
  _pr_found=
  _pr_frontier=$1
  if [ "$_pr_proc_children" = 0 ]; then
    _pr_map=
    for _pr_f in /proc/[0-9]*/stat; do
      { read -r _pr_l <"$_pr_f"; } 2>/dev/null || continue
      _pr_p=${_pr_f#/proc/}
      _pr_r=${_pr_l##*) }
      _pr_r=${_pr_r#* }
      _pr_map="$_pr_map ${_pr_p%/stat}:${_pr_r%% *}"
    done
  fi
  while [ -n "$_pr_frontier" ]; do
    _pr_next=
    for _pr_q in $_pr_frontier; do
      if [ "$_pr_proc_children" = 1 ]; then
        for _pr_t in /proc/"$_pr_q"/task/*/children; do
          _pr_k=
          { read -r _pr_k <"$_pr_t"; } 2>/dev/null
          _pr_next="$_pr_next $_pr_k"
        done
      else
        for _pr_e in $_pr_map; do
          [ "${_pr_e#*:}" = "$_pr_q" ] && _pr_next="$_pr_next ${_pr_e%%:*}"
        done
      fi
    done
    case $_pr_next in *[0-9]*) ;; *) _pr_next= ;; esac
    _pr_found="$_pr_found $_pr_next"
    _pr_frontier=$_pr_next
  done
  echo $_pr_found
}

# Signal $1 to process $2 and everything under it.
_pr_kill_tree() {
  _pr_tree=$(_pr_descendants "$2")
  kill "-$1" "$2" $_pr_tree 2>/dev/null
}

# A timer: a background sleep that sends signal $2 to this shell after $1 seconds (its pid: $!).
# Only the main flow starts background processes; trap handlers never do, so $! is always ours.
_pr_start_timer() {
  (sleep "$1" && kill "-$2" "$_pr_main_pid") </dev/null >/dev/null 2>&1 9>&- &
  # Timers are not waited for (see _pr_stop_timer): bash would report a killed one on stderr.
  [ -z "${BASH_VERSION:-}" ] || disown "$!"
}

# Stops timer $1 for good: frozen first (so it cannot fork), then killed with its sleep. Signals
# that a shell can trap may be lost in a subshell that has not set its own traps yet; these cannot.
# It is not waited for (the shell reaps it): a timer that fired ends just as its signal interrupts
# our `wait`, and bash 5 can lose the status of a child that ends then; a `wait` for it would
# block until some other child changes state (the grace timer, or the job timeout).
_pr_stop_timer() {
  [ -n "$1" ] || return 0
  kill -STOP "$1" 2>/dev/null
  _pr_tree=$(_pr_descendants "$1")
  kill -KILL "$1" $_pr_tree 2>/dev/null
}

# The status of step $1, which has ended (kill -0 fails), into _pr_rc when the shell still has it.
# A step that ends while a trapped signal interrupts `wait` (a cancel, a timer, the grace kill)
# may have lost its status in bash 5 (see _pr_stop_timer): so this wait runs under a short timer,
# and a lost status leaves _pr_rc as the interrupted wait set it (128 + the signal).
_pr_reap() {
  _pr_start_timer 1 ALRM
  _pr_reap_timer=$!
  _pr_woke=0
  wait "$1" 2>/dev/null
  _pr_again=$?
  [ "$_pr_woke" = 1 ] && _pr_again=
  _pr_stop_timer "$_pr_reap_timer"
  case $_pr_again in '' | 127 | -*) ;; *) _pr_rc=$_pr_again ;; esac
}

# Stop the running step: SIGTERM to its processes now; _pr_run then arms the grace timer after
# which what is left gets SIGKILL (a SIGTERM can be lost, a SIGKILL cannot).
_pr_request_stop() {
  [ -n "$_pr_child" ] || return 0
  _pr_stopping=1
  _pr_kill_tree TERM "$_pr_child"
}

# SIGTERM is a cancel: it stops the user steps (not after_script); USR1/USR2 are the step timers,
# ALRM the end of the grace after which a stopped step is killed.
_pr_on_term() {
  _pr_woke=1
  case $_pr_phase in
  setup | between) [ "$_pr_steps_done" = 1 ] || _pr_canceled=1 ;;
  step) if [ "$_pr_canceled$_pr_timed_out" = 00 ]; then
    _pr_canceled=1
    _pr_request_stop
  fi ;;
  esac
}
_pr_on_step_alarm() {
  _pr_woke=1
  if [ "$_pr_phase" = step ] && [ "$_pr_canceled$_pr_timed_out" = 00 ]; then
    _pr_timed_out=1
    _pr_request_stop
  fi
}
_pr_on_after_alarm() {
  _pr_woke=1
  if [ "$_pr_phase" = after ] && [ "$_pr_after_timed_out" = 0 ]; then
    _pr_after_timed_out=1
    _pr_request_stop
  fi
}
_pr_on_grace() {
  _pr_woke=1
  [ -n "$_pr_child" ] && _pr_kill_tree KILL "$_pr_child"
  return 0
}

# Run function $3 as phase $1 in a fresh subshell (fd 9 closed, stdin /dev/null) for at most $2
# seconds; its timer signals $4. Sets _pr_rc.
_pr_run() {
  # Do not even start a user step once it is canceled.
  if [ "$1" = step ] && [ "$_pr_canceled" = 1 ]; then
    _pr_rc=1
    return 0
  fi
  _pr_phase=$1
  _pr_stopping=0
  _pr_grace_timer=
  (
    trap 'exit 1' TERM
    "$3"
  ) </dev/null 9>&- &
  _pr_child=$!
  _pr_start_timer "$2" "$4"
  _pr_step_timer=$!
  # A cancel that came in while the step was being started could not stop it: do it now.
  if [ "$1" = step ] && [ "$_pr_canceled$_pr_timed_out" != 00 ]; then _pr_request_stop; fi
  while :; do
    _pr_woke=0
    if [ "$_pr_stopping" = 1 ] && [ -z "$_pr_grace_timer" ]; then
      _pr_start_timer "$_pr_kill_grace" ALRM
      _pr_grace_timer=$!
    fi
    wait "$_pr_child"
    _pr_rc=$?
    [ "$_pr_woke" = 1 ] || break
    # A trapped signal interrupts wait: wait again while the step is still there. If it ended
    # meanwhile, its status may still be waiting for us (127: this wait already returned it).
    if kill -0 "$_pr_child" 2>/dev/null; then continue; fi
    # (Nothing is left to kill: the grace handler must not signal a reused pid.)
    _pr_ended=$_pr_child
    _pr_child=
    _pr_reap "$_pr_ended"
    break
  done
  _pr_child=
  _pr_stop_timer "$_pr_step_timer"
  _pr_stop_timer "$_pr_grace_timer"
  _pr_step_timer=
  _pr_grace_timer=
  _pr_phase=between
}

# The shell options of every step (shells/bash.go): pipefail where the shell has it, errexit.
_pr_shell_options() {
  if (set -o pipefail) 2>/dev/null; then set -o pipefail; fi
  set -o errexit
  set +o noclobber
  if [ "$_pr_xtrace" = 1 ]; then set -o xtrace; fi
}

_pr_timeout_warning() {
  _pr_warning "$1 could not run to completion because the timeout was exceeded. For more control over job and script timeouts see: https://docs.gitlab.com/ci/runners/configure_runners/#set-script-and-after_script-timeouts"
}

# One user step ($1 = its stage name, $2 = its function) within what is left of the script timeout.
_pr_user_step() {
  [ "$_pr_rc" = 0 ] || return 0
  if [ "$_pr_canceled" = 1 ]; then
    _pr_rc=1
    _pr_warning 'script canceled externally (UI, API)'
    return 0
  fi
  _pr_left=$((_pr_script_end - $(_pr_ts)))
  if [ "$_pr_left" -le 0 ]; then
    _pr_timed_out=1
    _pr_rc=1
    _pr_timeout_warning "$1"
    return 0
  fi
  _pr_section_start "$1"
  _pr_stage_title "Executing \"$1\" stage of the job script"
  _pr_run step "$_pr_left" "$2" USR1
  _pr_section_end "$1"
  if [ "$_pr_rc" != 0 ] && [ "$_pr_timed_out" = 1 ]; then
    _pr_timeout_warning "$1"
  elif [ "$_pr_rc" != 0 ] && [ "$_pr_canceled" = 1 ]; then
    _pr_warning 'script canceled externally (UI, API)'
  fi
}

_pr_after_script_step() {
  if [ "$_pr_rc" = 0 ]; then
    _pr_job_status=success
  elif [ "$_pr_timed_out" = 1 ]; then
    _pr_job_status=timedout
  elif [ "$_pr_canceled" = 1 ]; then
    _pr_job_status=canceled
  else
    _pr_job_status=failed
  fi
  _pr_step_rc=$_pr_rc
  _pr_section_start after_script
  _pr_stage_title "Running after_script"
  _pr_run after "$_pr_after_timeout" _pr_after_script USR2
  _pr_section_end after_script
  if [ "$_pr_after_timed_out" = 1 ]; then
    _pr_timeout_warning after_script
    _pr_warning 'after_script failed, but job will continue unaffected: context deadline exceeded'
  elif [ "$_pr_rc" != 0 ]; then
    if [ "$_pr_ignore_after_errors" = 1 ]; then
      _pr_warning "after_script failed, but job will continue unaffected: command terminated with exit code $_pr_rc"
    elif [ "$_pr_step_rc" = 0 ]; then
      _pr_step_rc=$_pr_rc
    fi
  fi
  _pr_rc=$_pr_step_rc
}

_pr_main() {
  trap _pr_on_term TERM INT
  trap _pr_on_step_alarm USR1
  trap _pr_on_after_alarm USR2
  trap _pr_on_grace ALRM
  # Hand-off: the uploader sees this shell (and only it) holding build.alive open.
  if [ -d "$_pr_status_dir" ]; then
    exec 9<>"$_pr_status_dir/build.alive"
    : >"$_pr_status_dir/build.started"
  fi
  _pr_notices
  if [ -n "$_pr_deadline" ]; then
    _pr_left=$((_pr_deadline - $(_pr_ts)))
    [ "$_pr_left" -lt "$_pr_script_timeout" ] && _pr_script_timeout=$_pr_left
  fi
  _pr_script_end=$(($(_pr_ts) + _pr_script_timeout))
  _pr_phase=between
  _pr_user_steps
  _pr_steps_done=1
  if [ "$_pr_has_after_script" = 1 ]; then _pr_after_script_step; fi
  # Close the last marker's line: the log is line-based from here on.
  [ "$_pr_sections" = 1 ] && printf '\n'
  _pr_phase=finished
  # An exit status is 0-255 (some shells report -1 for a child they have lost track of).
  case $_pr_rc in '' | *[!0-9]*) _pr_rc=1 ;; esac
  [ "$_pr_rc" -le 255 ] || _pr_rc=1
  # A step that ended by itself with 0 was neither timed out nor canceled.
  if [ "$_pr_rc" = 0 ]; then
    _pr_timed_out=0
    _pr_canceled=0
  fi
  _pr_cleanup_files
  { printf '%s\n' "$_pr_rc" >"$_pr_status_dir/build.exit"; } 2>/dev/null
  { printf '{"exit_code":%s,"timed_out":%s,"canceled":%s}\n' "$_pr_rc" "$(_pr_bool "$_pr_timed_out")" "$(_pr_bool "$_pr_canceled")" >"$_pr_termination_log"; } 2>/dev/null
  exit "$_pr_rc"
}
