import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.ts';
import { kubernetesConfigSchema } from '../../../../src/config/schema/kubernetes.ts';
import { RenderError } from '../../../../src/kubernetes/render/errors.ts';
import { containerSecurityContext, podSecurityContext } from '../../../../src/kubernetes/render/security.ts';
import { baseInput, refused, rendered, runnerConfig } from './support.ts';

const config = (input: Record<string, unknown>) => kubernetesConfigSchema.parse(input);

function hardened() {
  const text = readFileSync(
    new URL('../../../fixtures/config/kubernetes-security.toml', import.meta.url),
    'utf8',
  );
  const loaded = parseConfig(text, { env: {} });
  if (!loaded.ok) throw new Error('fixture does not load');
  return loaded.config.runners[0]!;
}

describe('capabilities', () => {
  it('drop NET_RAW by default on every container', () => {
    expect(containerSecurityContext(config({}), 'build', 'build', {}, [])).toEqual({
      capabilities: { drop: ['NET_RAW'] },
    });
  });

  it('apply cap_add/cap_drop (drop wins), and let a container context replace add or drop wholesale', () => {
    const c = config({ cap_add: ['NET_RAW', 'SYS_TIME', 'MKNOD'], cap_drop: ['MKNOD'] });
    expect(containerSecurityContext(c, 'helper', 'helper', {}, []).capabilities).toEqual({
      add: ['NET_RAW', 'SYS_TIME'],
      drop: ['MKNOD'],
    });
    const own = config({
      cap_add: ['SYS_TIME'],
      build_container_security_context: { capabilities: { drop: ['ALL'] } },
    });
    expect(containerSecurityContext(own, 'build', 'build', {}, []).capabilities).toEqual({
      add: ['SYS_TIME'],
      drop: ['ALL'],
    });
  });
});

describe('container security contexts', () => {
  it('take privileged and allow_privilege_escalation from the container context, else the runner', () => {
    const c = config({
      privileged: true,
      allow_privilege_escalation: true,
      helper_container_security_context: { privileged: false },
    });
    expect(containerSecurityContext(c, 'build', 'build', {}, [])).toMatchObject({
      privileged: true,
      allowPrivilegeEscalation: true,
    });
    expect(containerSecurityContext(c, 'helper', 'helper', {}, [])).toMatchObject({
      privileged: false,
      allowPrivilegeEscalation: true,
    });
  });

  it('render every sub-key of the hardened fixture', () => {
    const k = hardened().kubernetes!;
    const log: string[] = [];
    expect(podSecurityContext(k)).toEqual({
      fsGroup: 2000,
      runAsGroup: 1000,
      runAsNonRoot: true,
      runAsUser: 1000,
      supplementalGroups: [3000, 4000],
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(containerSecurityContext(k, 'build', 'build', {}, log)).toEqual({
      capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      procMount: 'Default',
    });
    expect(containerSecurityContext(k, 'helper', 'helper', {}, log)).toEqual({
      capabilities: { add: ['SYS_TIME'], drop: ['NET_RAW', 'MKNOD'] },
      allowPrivilegeEscalation: false,
      runAsUser: 59417,
      runAsNonRoot: true,
      appArmorProfile: { type: 'Localhost', localhostProfile: 'ci-helper' },
    });
    expect(containerSecurityContext(k, 'service', 'svc-0', {}, log)).toMatchObject({ privileged: true });
  });

  it('use the job user only where neither the container nor the pod sets the id, and say so', () => {
    const log: string[] = [];
    const c = config({
      pod_security_context: { run_as_group: 50 },
      build_container_security_context: { run_as_user: 10 },
    });
    expect(containerSecurityContext(c, 'build', 'build', { uid: 1001, gid: 1001 }, log)).toMatchObject({
      runAsUser: 10,
    });
    expect(
      containerSecurityContext(c, 'build', 'build', { uid: 1001, gid: 1001 }, []).runAsGroup,
    ).toBeUndefined();
    expect(log).toEqual([
      'Overriding user for container "build" to "1001" is not allowed: user is set to 10 in container security context',
      'Overriding group for container "build" to "1001" is not allowed: group is set to 50 in pod security context',
    ]);
    expect(containerSecurityContext(config({}), 'service', 'db', { uid: 7 }, [])).toMatchObject({
      runAsUser: 7,
    });
  });

  it('refuse a profile type Kubernetes does not know, or Localhost without a profile', () => {
    const bad = (ctx: Record<string, unknown>) => {
      try {
        podSecurityContext(config({ pod_security_context: ctx }));
      } catch (e) {
        if (e instanceof RenderError) return e;
      }
      throw new Error('expected a RenderError');
    };
    expect(bad({ seccomp_profile: { type: 'runtime/default' } }).message).toMatch(
      /pod_security_context.seccomp_profile: invalid seccomp profile type "runtime\/default"/,
    );
    expect(bad({ app_armor_profile: { type: 'Localhost' } }).code).toBe('SECURITY_PROFILE_INVALID');
  });
});

describe('in the rendered pod', () => {
  it('set the pod context, runtime class, automount and a per-class context on every container', () => {
    const r = rendered(
      baseInput({ runner: hardened(), uploader: true, variables: [{ key: 'X', value: '1', public: true }] }),
    );
    const spec = r.pod.spec!;
    expect(spec.securityContext?.runAsUser).toBe(1000);
    expect(spec.runtimeClassName).toBe('gvisor');
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.initContainers![0]!.securityContext?.runAsUser).toBe(59417);
    expect(spec.containers[1]!.securityContext?.runAsUser).toBe(59417);
    expect(spec.containers[0]!.securityContext?.capabilities).toEqual({ add: ['NET_ADMIN'], drop: ['ALL'] });
  });

  it('mount no service account token unless configured', () => {
    expect(rendered(baseInput()).pod.spec!.automountServiceAccountToken).toBe(false);
    const r = rendered(
      baseInput({ runner: runnerConfig('image = "a"\nautomount_service_account_token = true') }),
    );
    expect(r.pod.spec!.automountServiceAccountToken).toBe(true);
  });

  it('refuse a job user outside allowed_users', () => {
    const { job: base, rawPayload: raw } = baseInput();
    const job = {
      ...base,
      image: {
        name: 'alpine',
        entrypoint: [],
        ports: [],
        pull_policy: [],
        executor_opts: { kubernetes: { user: '0' } },
      },
    };
    const e = refused(baseInput({ job, rawPayload: raw }));
    expect(e.code).toBe('USER_NOT_ALLOWED');
  });
});
