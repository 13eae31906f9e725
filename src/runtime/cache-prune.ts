/**
 * `cascade cache prune`: bound the growth of the shared layer caches. Each
 * namespace's cache repository (`host/cascade-cache/<namespace>`, in the
 * registry of its BuildConfigs' outputs) holds one tag per cached layer,
 * pushed by buildah's `--cache-to`. Entries created longer ago than the TTL
 * are deleted by digest; buildah's `--cache-ttl` ignores the same entries,
 * since both read the entry's `created` time. Builds take their created time
 * from the commit (SOURCE_DATE_EPOCH), so an entry expires one TTL after
 * the commit that first made it, and is rebuilt and pushed again once.
 * Locally the registry then needs `registry garbage-collect` to free the
 * blobs; on AWS the cache lives in ECR under a lifecycle policy instead.
 */
import { parseImageRef } from "../core/image-ref.js";
import type { BuildConfig, ObjectReference } from "../core/buildconfig.js";
import type { RegistryAdmin } from "../ports/registry.js";
import type { Store } from "../ports/store.js";
import { cacheRepository } from "./builds.js";

export interface CachePruneResult {
  olderThanMs: number;
  repositories: { repository: string; kept: number; deleted: { tag: string; digest: string; created: string }[] }[];
}

/** The cache repository of every namespace whose BuildConfigs have an output. */
export async function cacheRepositories(store: Store, resolve: (ref: ObjectReference, namespace: string) => string): Promise<string[]> {
  const repos = new Set<string>();
  for (const { config } of await store.listBuildConfigs()) {
    const to = (config as BuildConfig).spec.output?.to;
    if (!to) continue;
    try {
      repos.add(cacheRepository(parseImageRef(resolve(to, config.metadata.namespace)).registry, config.metadata.namespace));
    } catch {
      /* an output Cascade cannot resolve has no cache */
    }
  }
  return [...repos].sort();
}

export async function pruneCache(registry: RegistryAdmin, repository: string, olderThanMs: number, now: Date): Promise<CachePruneResult["repositories"][number]> {
  const cutoff = now.getTime() - olderThanMs;
  const deleted: CachePruneResult["repositories"][number]["deleted"] = [];
  const gone = new Set<string>();
  let kept = 0;
  for (const tag of await registry.listTags(repository)) {
    const ref = `${repository}:${tag}`;
    const created = (await registry.getImageConfig(ref)).created;
    if (created === undefined || !(Date.parse(created) < cutoff)) {
      kept++;
      continue;
    }
    const { digest } = await registry.resolveDigest(ref);
    if (!gone.has(digest)) {
      await registry.deleteManifest(`${repository}@${digest}`);
      gone.add(digest);
    }
    deleted.push({ tag, digest, created });
  }
  return { repository, kept, deleted };
}

export async function pruneCaches(
  deps: { store: Store; registry: RegistryAdmin; resolve: (ref: ObjectReference, namespace: string) => string; now: Date },
  olderThanMs: number,
): Promise<CachePruneResult> {
  const repositories = [];
  for (const repo of await cacheRepositories(deps.store, deps.resolve)) {
    repositories.push(await pruneCache(deps.registry, repo, olderThanMs, deps.now));
  }
  return { olderThanMs, repositories };
}
