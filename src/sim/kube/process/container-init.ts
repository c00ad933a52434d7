// The init of one container, as a POSIX shell script. It runs as PID 1 of the container's own PID
// and mount namespaces (inside the pod's network, UTS and IPC namespaces) and does what runc does
// before it execs the process: a fresh /proc, a small /dev of its own, the volumes and the kubelet's
// files bound at their paths, the working directory, the executable lookup. Then it starts the
// container's command as its child (like `docker run --init`): a SIGTERM sent to the container
// reaches every process in it, and when the command exits the script exits with its status, which
// makes the kernel kill whatever else is left in the container.
//
// Protocol on fd 3 (read by the runtime): `pid <host pid>`, then `ok` once the command is started,
// or `error <message>` and exit 128. Any other line is a diagnostic from a setup step.
import { shQuote } from './shell-quote.ts';

export interface HostTools {
  mount: string;
  umount: string;
  mkdir: string;
  ln: string;
  chown: string;
  env: string;
  setpriv: string;
  /** Whether `env --default-signal` exists (coreutils >= 8.31). */
  envDefaultSignal: boolean;
}

export interface InitMount {
  source: string;
  target: string;
  readOnly: boolean;
  /** What the mount point must be: a directory or a file. */
  kind: 'dir' | 'file';
}

export interface InitPlan {
  tools: HostTools;
  label: string;
  /** An empty directory of the container's on the host where its /dev is assembled. */
  devStaging: string;
  /** The pod's /dev/shm (shared by its containers, like the sandbox's). */
  shmSource: string;
  /** `cgroup.procs` of the container's memory cgroup, if the runtime made one. */
  cgroupProcs?: string;
  /** In mount order (parents before children). */
  mounts: InitMount[];
  workingDir: string;
  user?: { uid: number; gid: number; initGroups: boolean };
  /**
   * Variables that would change how the init's own tools run (the dynamic loader's LD_*, shell
   * startup files): kept out of the init's environment and given to the command only.
   */
  deferredEnv?: Record<string, string>;
  /** PWD and OLDPWD as the container's env has them (the shell would otherwise invent them). */
  pwd?: string;
  oldPwd?: string;
}

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

export function renderContainerInit(plan: InitPlan): string {
  const q = shQuote;
  const { tools } = plan;
  const M = q(tools.mount);
  const MKDIR = q(tools.mkdir);
  const LN = q(tools.ln);
  const dev = plan.devStaging;
  const lines: string[] = [
    `# podrunner process runtime: init of ${plan.label.replaceAll('\n', ' ')}`,
    // Setup diagnostics go to the status pipe; fd 4 keeps the container's stderr for the command.
    'exec 4>&2 2>&3',
    'fail() { echo "error $*" >&3; exit 128; }',
    // Read before /proc is replaced: this is still the host's procfs, so this is the host PID.
    'read -r hostpid rest < /proc/self/stat || fail "cannot read /proc/self/stat"',
    'echo "pid $hostpid" >&3',
  ];
  if (plan.cgroupProcs) {
    lines.push(
      `echo 0 > ${q(plan.cgroupProcs)} || fail ${q(`cannot join the memory cgroup ${plan.cgroupProcs}`)}`,
    );
  }
  lines.push(
    `${M} -t proc -o nosuid,nodev,noexec proc /proc || fail "cannot mount /proc"`,
    `${M} -t tmpfs -o nosuid,mode=755,size=65536k tmpfs ${q(dev)} || fail "cannot mount a tmpfs for /dev"`,
    `for n in ${DEVICES.join(' ')}; do`,
    `  : > ${q(dev)}/"$n" && ${M} --bind /dev/"$n" ${q(dev)}/"$n" || fail "cannot bind /dev/$n"`,
    'done',
    `${MKDIR} ${q(`${dev}/pts`)} ${q(`${dev}/shm`)} ${q(`${dev}/mqueue`)} || fail "cannot populate /dev"`,
    `${M} -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts ${q(`${dev}/pts`)} || fail "cannot mount /dev/pts"`,
    `${LN} -s pts/ptmx ${q(`${dev}/ptmx`)}`,
    `${M} --bind ${q(plan.shmSource)} ${q(`${dev}/shm`)} || fail "cannot bind /dev/shm"`,
    `${M} -t mqueue mqueue ${q(`${dev}/mqueue`)} 2>/dev/null || true`,
    `${LN} -s /proc/self/fd ${q(`${dev}/fd`)}`,
    `${LN} -s /proc/self/fd/0 ${q(`${dev}/stdin`)}`,
    `${LN} -s /proc/self/fd/1 ${q(`${dev}/stdout`)}`,
    `${LN} -s /proc/self/fd/2 ${q(`${dev}/stderr`)}`,
    `${LN} -s /proc/kcore ${q(`${dev}/core`)}`,
    // --rbind rather than --move: a user namespace may not move mounts over the host's /dev.
    `${M} --rbind ${q(dev)} /dev || fail "cannot mount the new /dev"`,
    `${q(tools.umount)} -l ${q(dev)} 2>/dev/null || true`,
  );
  for (const m of plan.mounts) {
    const target = q(m.target);
    const what = q(`cannot mount ${m.source} at ${m.target}`);
    if (m.kind === 'dir') {
      lines.push(
        `[ -d ${target} ] || ${MKDIR} -p ${target} || fail ${q(`cannot create the mount point ${m.target}`)}`,
      );
    } else {
      const parent = m.target.slice(0, m.target.lastIndexOf('/')) || '/';
      lines.push(
        `[ -e ${target} ] || { ${MKDIR} -p ${q(parent)} && : > ${target}; } || fail ${q(`cannot create the mount point ${m.target}`)}`,
      );
    }
    lines.push(`${M} --rbind ${q(m.source)} ${target} || fail ${what}`);
    if (m.readOnly)
      lines.push(`${M} -o remount,bind,ro ${target} || fail ${q(`cannot make ${m.target} read-only`)}`);
  }
  const wd = q(plan.workingDir);
  const owner = plan.user ? ` && ${q(tools.chown)} ${plan.user.uid}:${plan.user.gid} ${wd}` : '';
  lines.push(
    `[ -d ${wd} ] || { ${MKDIR} -p ${wd}${owner}; } || fail ${q(`cannot create the working directory ${plan.workingDir}`)}`,
    `cd ${wd} || fail ${q(`chdir to cwd ("${plan.workingDir}") set in config.json failed: not a directory`)}`,
    // The executable lookup runc does (Go's exec.LookPath over the container's PATH).
    'cmd=$1',
    'case $cmd in',
    '  */*)',
    '    [ -e "$cmd" ] || fail "exec: \\"$cmd\\": stat $cmd: no such file or directory"',
    '    { [ -f "$cmd" ] && [ -x "$cmd" ]; } || fail "exec: \\"$cmd\\": permission denied" ;;',
    '  *)',
    '    found=; set -f; saved_ifs=$IFS; IFS=:',
    '    for dir in $PATH; do',
    '      [ -n "$dir" ] || dir=.',
    '      if [ -f "$dir/$cmd" ] && [ -x "$dir/$cmd" ]; then found=1; break; fi',
    '    done',
    '    IFS=$saved_ifs; set +f',
    '    [ -n "$found" ] || fail "exec: \\"$cmd\\": executable file not found in \\$PATH" ;;',
    'esac',
    'exec 2>&4 4>&-',
    // A signal for the container goes to every process in it (kill -1 spares only PID 1, us).
    'signalled=0',
    "trap 'signalled=1; kill -s TERM -- -1 2>/dev/null' TERM",
    "trap 'signalled=1; kill -s INT -- -1 2>/dev/null' INT",
    "trap 'signalled=1; kill -s HUP -- -1 2>/dev/null' HUP",
  );
  const run: string[] = ['exec 3>&-', 'unset PWD OLDPWD'];
  if (plan.pwd !== undefined) run.push(`PWD=${q(plan.pwd)}; export PWD`);
  if (plan.oldPwd !== undefined) run.push(`OLDPWD=${q(plan.oldPwd)}; export OLDPWD`);
  // Background commands of a shell start with SIGINT and SIGQUIT ignored: give them back.
  let exec = 'exec';
  if (plan.user) {
    const groups = plan.user.initGroups ? '--init-groups' : '--clear-groups';
    exec += ` ${q(tools.setpriv)} --reuid=${plan.user.uid} --regid=${plan.user.gid} ${groups} --`;
  }
  const deferred = Object.entries(plan.deferredEnv ?? {}).map(([name, value]) => q(`${name}=${value}`));
  if (tools.envDefaultSignal || deferred.length > 0) {
    exec += ` ${q(tools.env)}${tools.envDefaultSignal ? ' --default-signal' : ''} --${deferred.map((d) => ` ${d}`).join('')}`;
  }
  run.push(`${exec} "$@"`);
  lines.push(
    `( ${run.join('; ')} ) &`,
    'child=$!',
    'echo ok >&3',
    'exec 3>&-',
    'while :; do',
    '  signalled=0',
    '  wait "$child"; status=$?',
    '  [ "$signalled" = 1 ] && continue',
    '  exit "$status"',
    'done',
    '',
  );
  return lines.join('\n');
}
