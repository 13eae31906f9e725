/**
 * From BuildConfigs to graph nodes: what each one pushes and which images
 * its ImageChange triggers follow. A trigger with an explicit `from` follows
 * that image; one without follows the strategy's base: `dockerStrategy.from`
 * when set, else every external FROM of the Dockerfile (the inline one, or the
 * bases the last build recorded). Pure: references resolve through `resolve`.
 */
import type { BuildConfig, ObjectReference } from "./buildconfig.js";
import { parseDockerfile } from "./dockerfile.js";
import { normalizeImageRef } from "./image-ref.js";
import type { GraphNode } from "./planner.js";

export type RefResolver = (ref: ObjectReference, namespace: string) => string;

function norm(ref: string): string | undefined {
  try {
    return normalizeImageRef(ref);
  } catch {
    return undefined;
  }
}

const uniq = (xs: (string | undefined)[]) => [...new Set(xs.filter((x): x is string => x !== undefined))];

export function graphNode(config: BuildConfig, opts: { resolve: RefResolver; recordedBases?: string[] }): GraphNode {
  const ns = config.metadata.namespace ?? "default";
  const key = `${ns}/${config.metadata.name}`;
  const to = config.spec.output?.to;
  const output = to ? norm(opts.resolve(to, ns)) : undefined;
  const strategy = config.spec.strategy;
  const fromRef = strategy.dockerStrategy?.from ?? strategy.sourceStrategy?.from ?? strategy.customStrategy?.from;
  const strategyBase = fromRef ? norm(opts.resolve(fromRef, ns)) : undefined;
  let dockerfileBases: string[] = [];
  const inline = config.spec.source?.dockerfile;
  if (inline !== undefined && strategy.type === "Docker") {
    try {
      const args = Object.fromEntries((strategy.dockerStrategy?.buildArgs ?? []).map((a) => [a.name, a.value ?? ""]));
      const info = parseDockerfile(inline, args);
      // dockerStrategy.from replaces the last stage's FROM.
      const last = info.stages.length - 1;
      dockerfileBases = info.stages
        .filter((s) => s.baseKind === "external" && !(strategyBase && s.index === last))
        .map((s) => norm(s.from))
        .filter((x): x is string => x !== undefined);
    } catch {
      dockerfileBases = [];
    }
  }
  const recorded = (opts.recordedBases ?? []).map(norm);
  const defaultBases = strategyBase && strategy.type !== "Docker" ? [strategyBase] : uniq([strategyBase, ...dockerfileBases, ...recorded]);
  const follows: string[] = [];
  for (const t of config.spec.triggers) {
    if (t.type !== "ImageChange" || t.imageChange?.paused) continue;
    if (t.imageChange?.from) {
      const f = norm(opts.resolve(t.imageChange.from, ns));
      if (f) follows.push(f);
    } else follows.push(...defaultBases);
  }
  return { key, ...(output ? { output } : {}), follows: uniq(follows), bases: uniq([...defaultBases, ...follows]) };
}
