// Image references as the image table matches them: `docker.io/library/node:22` and `node:22` are the
// same image, a missing tag is `latest`, a digest is ignored (no image is pulled in process mode).

/** `[registry/]repository:tag`, with Docker Hub's `docker.io/` and `library/` removed. */
export function normalizeImageReference(image: string): string {
  const withoutDigest = image.split('@', 1)[0] ?? image;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const hasTag = colon > slash;
  let repository = hasTag ? withoutDigest.slice(0, colon) : withoutDigest;
  const tag = hasTag ? withoutDigest.slice(colon + 1) : 'latest';
  for (const hub of ['docker.io/', 'index.docker.io/', 'registry-1.docker.io/']) {
    if (repository.startsWith(hub)) repository = repository.slice(hub.length);
  }
  if (repository.startsWith('library/') && repository.split('/').length === 2) {
    repository = repository.slice('library/'.length);
  }
  return `${repository}:${tag}`;
}
