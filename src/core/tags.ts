/**
 * From a git tag to image tags (`spec.tagPolicy`): with `semver`, `v1.2.3`
 * becomes `1.2.3`, `1.2` and `1` (a pre-release only its full version), and
 * with `latest` a release also moves `latest`. Other tags keep their name,
 * made a valid image tag.
 */
import type { TagPolicy } from "./buildconfig.js";

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;

/** A string made into a valid image tag (`[\w][\w.-]{0,127}`). */
export function imageTag(s: string): string {
  const t = s.replace(/[^\w.-]/g, "-").replace(/^[.-]+/, "");
  return (t || "tag").slice(0, 128);
}

export function imageTagsForGitTag(gitTag: string, policy: TagPolicy): string[] {
  const m = policy.semver ? SEMVER.exec(gitTag) : null;
  if (!m) return [imageTag(gitTag)];
  const [, major, minor, patch, pre] = m;
  if (pre) return [imageTag(`${major}.${minor}.${patch}-${pre}`)];
  return [`${major}.${minor}.${patch}`, `${major}.${minor}`, `${major}`, ...(policy.latest ? ["latest"] : [])];
}
