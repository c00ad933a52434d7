import { describe, expect, it } from 'vitest';
import { kubeletHostsFile } from '../../../src/sim/kube/process/hosts-file.ts';

describe("the kubelet's /etc/hosts", () => {
  it('has the header, the localhost lines and the pod IP with its hostname', () => {
    expect(kubeletHostsFile(['10.244.0.5'], 'nginx', [])).toBe(
      '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' +
        'fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n' +
        '10.244.0.5\tnginx\n',
    );
  });

  it('adds host aliases after a blank line, one line per IP, names separated by tabs', () => {
    const text = kubeletHostsFile(['10.244.0.6'], 'job-pod', [
      { ip: '127.0.0.1', hostnames: ['foo.local', 'bar.local'] },
      { ip: '10.1.2.3', hostnames: ['foo.remote', 'bar.remote'] },
    ]);
    expect(
      text.endsWith(
        '10.244.0.6\tjob-pod\n\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tfoo.remote\tbar.remote\n',
      ),
    ).toBe(true);
  });
});
