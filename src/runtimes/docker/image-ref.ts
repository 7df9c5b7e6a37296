/**
 * Image references as the pull API wants them. An untagged reference would make the engine pull EVERY tag of the
 * repository, so `foo` becomes `foo:latest`; digests (`foo@sha256:…`) are left as they are.
 */
export function normalizeImageRef(ref: string): string {
  const trimmed = ref.trim();
  if (trimmed.includes('@')) return trimmed;
  const lastSlash = trimmed.lastIndexOf('/');
  const lastPart = trimmed.slice(lastSlash + 1);
  return lastPart.includes(':') ? trimmed : `${trimmed}:latest`;
}
