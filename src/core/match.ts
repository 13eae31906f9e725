/**
 * Which BuildConfigs a git ref event asks to build: same repository (URLs
 * normalised, so https, ssh and scp-like forms are equal), a trigger for the
 * provider, and the BuildConfig's branch (or, when it names none, the
 * repository's default branch from the payload). Deleted refs start nothing.
 * Pure: every BuildConfig considered comes back with a reason.
 */
import type { BuildConfig } from "./buildconfig.js";
import type { GitProvider, GitRefEvent } from "./events-in.js";
import picomatch from "picomatch";
import { normalizeGitUrl, sameRepository } from "./git-url.js";

export interface GitMatchResult {
  /** BuildConfigs of the same repository that have a trigger for this provider. */
  candidates: BuildConfig[];
  /** Candidates whose ref matches: each should build. */
  matched: { config: BuildConfig; reason: string }[];
  /** Candidates that do not build, and why. */
  skipped: { config: BuildConfig; reason: string }[];
}

const TRIGGER_TYPE: Record<GitProvider, string> = {
  github: "GitHub",
  gitlab: "GitLab",
  bitbucket: "Bitbucket",
  gitea: "GitHub", // Gitea and Forgejo send GitHub-compatible payloads to GitHub triggers
  generic: "Generic",
};

export function hasTrigger(config: BuildConfig, provider: GitProvider): boolean {
  const want = TRIGGER_TYPE[provider];
  return (config.spec.triggers ?? []).some((t) => t.type === want);
}

export function sourceRepository(config: BuildConfig): string | undefined {
  return config.spec.source?.git?.uri;
}

export function repositoryMatches(config: BuildConfig, urls: readonly string[]): boolean {
  const uri = sourceRepository(config);
  if (!uri) return false;
  return urls.some((u) => {
    try {
      return sameRepository(u, uri);
    } catch {
      return false;
    }
  });
}

/**
 * The key {@link sameRepository} compares by: remote URLs lower-cased, local
 * paths exactly; undefined for a URL that is not one (it matches nothing).
 * Two URLs name the same repository exactly when their keys are equal.
 */
export function repositoryKey(url: string): string | undefined {
  let k: string;
  try {
    k = normalizeGitUrl(url);
  } catch {
    return undefined;
  }
  return k.startsWith("file://") ? k : k.toLowerCase();
}

/**
 * BuildConfigs by repository key, built once for many events:
 * `matchGitEvent(event, index.configsFor(event.repository.urls))` decides as
 * `matchGitEvent(event, configs)` does over the whole list, at the cost of the
 * repository's BuildConfigs only.
 */
export class RepositoryIndex {
  readonly #byKey = new Map<string, BuildConfig[]>();
  readonly #ordinal = new Map<BuildConfig, number>();

  constructor(configs: readonly BuildConfig[]) {
    configs.forEach((c, i) => {
      const uri = sourceRepository(c);
      const k = uri === undefined ? undefined : repositoryKey(uri);
      if (k === undefined) return;
      this.#ordinal.set(c, i);
      const l = this.#byKey.get(k);
      if (l) l.push(c);
      else this.#byKey.set(k, [c]);
    });
  }

  /** Number of repositories. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The BuildConfigs whose source is one of these URLs' repository, in the order they were given. */
  configsFor(urls: readonly string[]): readonly BuildConfig[] {
    const buckets: BuildConfig[][] = [];
    for (const u of urls) {
      const k = repositoryKey(u);
      const b = k === undefined ? undefined : this.#byKey.get(k);
      if (b && !buckets.includes(b)) buckets.push(b);
    }
    if (buckets.length <= 1) return buckets[0] ?? [];
    return [...new Set(buckets.flat())].sort((a, b) => this.#ordinal.get(a)! - this.#ordinal.get(b)!);
  }
}

/** The ref a BuildConfig builds, with `refs/heads/` or `refs/tags/` stripped. */
export function configRef(config: BuildConfig): string | undefined {
  const ref = config.spec.source?.git?.ref;
  if (!ref) return undefined;
  return ref.replace(/^refs\/(heads|tags)\//, "");
}

/**
 * `spec.paths`: globs relative to `contextDir`. A push builds only when one of
 * its changed files (repository-relative) lies under contextDir and matches.
 * Unknown changed files build, with the reason said.
 */
export function pathsFilter(config: BuildConfig, changedFiles: readonly string[] | undefined): { ok: boolean; reason?: string } {
  const globs = config.spec.paths;
  if (!globs?.length) return { ok: true };
  if (changedFiles === undefined) return { ok: true, reason: "the changed files are unknown, so spec.paths could not be checked" };
  const dir = (config.spec.source?.contextDir ?? "").replace(/^\.?\/+|\/+$/g, "");
  const isMatch = picomatch(globs, { dot: true });
  const hit = changedFiles.find((f) => {
    if (dir && !f.startsWith(`${dir}/`)) return false;
    return isMatch(dir ? f.slice(dir.length + 1) : f);
  });
  return hit
    ? { ok: true, reason: `${hit} matches spec.paths` }
    : { ok: false, reason: `no changed file matches spec.paths (${globs.join(", ")})${dir ? ` under ${dir}/` : ""}` };
}

export function matchGitEvent(event: GitRefEvent, configs: readonly BuildConfig[]): GitMatchResult {
  const candidates = configs.filter((c) => hasTrigger(c, event.provider) && repositoryMatches(c, event.repository.urls));
  const matched: GitMatchResult["matched"] = [];
  const skipped: GitMatchResult["skipped"] = [];
  for (const config of candidates) {
    if (event.deleted) {
      skipped.push({ config, reason: `${event.refType} "${event.refName}" was deleted; a deleted ref starts nothing` });
      continue;
    }
    const configured = config.spec.source?.git?.ref ?? "";
    // A fully qualified ref says which kind it is: refs/tags/v1 never matches a branch v1, nor the reverse.
    const kindOk =
      !configured.startsWith("refs/") || configured.startsWith(event.refType === "tag" ? "refs/tags/" : "refs/heads/");
    const want = configRef(config) ?? event.repository.defaultBranch;
    if (!kindOk) {
      skipped.push({ config, reason: `${event.refType} "${event.refName}" does not match ref "${configured}"` });
    } else if (event.refType === "branch") {
      if (want === undefined) {
        skipped.push({ config, reason: `no spec.source.git.ref and the payload names no default branch` });
      } else if (want === event.refName) {
        const paths = pathsFilter(config, event.changedFiles);
        if (paths.ok) matched.push({ config, reason: `push to branch "${event.refName}"${paths.reason ? `; ${paths.reason}` : ""}` });
        else skipped.push({ config, reason: paths.reason! });
      } else {
        skipped.push({ config, reason: `branch "${event.refName}" does not match ref "${want}"` });
      }
    } else if (configRef(config) === event.refName) {
      matched.push({ config, reason: `tag "${event.refName}" is the configured ref` });
    } else if (config.spec.tagPolicy) {
      matched.push({ config, reason: `tag "${event.refName}" builds a release (spec.tagPolicy)` });
    } else {
      skipped.push({ config, reason: `tag "${event.refName}" does not match ref "${want ?? "(default branch)"}" and there is no spec.tagPolicy` });
    }
  }
  return { candidates, matched, skipped };
}
