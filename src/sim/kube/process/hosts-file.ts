// The pod's /etc/hosts, byte for byte as the kubelet writes it (`managedHostsFileContent`): the
// header, the localhost boilerplate, the pod's own IP with its hostname, then one line per
// `hostAliases` entry under "# Entries added by HostAliases.", hostnames separated by tabs.

export interface HostAlias {
  ip: string;
  hostnames: string[];
}

export function kubeletHostsFile(podIPs: string[], hostname: string, hostAliases: HostAlias[]): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    ...podIPs.map((ip) => `${ip}\t${hostname}`),
  ];
  let text = `${lines.join('\n')}\n`;
  if (hostAliases.length > 0) {
    text += '\n# Entries added by HostAliases.\n';
    for (const alias of hostAliases) text += `${alias.ip}\t${alias.hostnames.join('\t')}\n`;
  }
  return text;
}
