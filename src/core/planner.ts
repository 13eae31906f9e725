/**
 * The planner: a pure function from an event, the image dependency graph and
 * the current state to the builds to run, in topological waves, each with its
 * reason (DESIGN.md section 2).
 *
 * - The graph links a BuildConfig that produces image I to every BuildConfig
 *   whose ImageChange trigger follows I (paused triggers follow nothing).
 * - One upstream event plans its whole downstream closure; a node reachable by
 *   several paths (a diamond) appears once, in the wave after all of its
 *   upstreams in the plan.
 * - An image update whose digest equals the one a BuildConfig last built from
 *   is skipped, with the reason; a BuildConfig with a queued build coalesces
 *   the event into it instead of queueing another.
 * - Cycles are found (and named) so that `apply` can refuse them.
 * Indexes are built once per graph, so planning costs the size of the
 * affected closure, not of the estate.
 */

export interface GraphNode {
  /** `namespace/name`. */
  key: string;
  /** The normalised image reference (`registry/repo:tag`) the BuildConfig pushes. */
  output?: string;
  /** Normalised images whose updates rebuild this BuildConfig (its unpaused ImageChange triggers). */
  follows: string[];
  /** Every known base, followed or not (for `cascade graph`). */
  bases: string[];
}

export interface ImageGraph {
  nodes: ReadonlyMap<string, GraphNode>;
  /** image -> BuildConfigs that follow it. */
  followers: ReadonlyMap<string, readonly string[]>;
  /** image -> BuildConfigs that push it. */
  producers: ReadonlyMap<string, readonly string[]>;
}

export function buildGraph(nodes: Iterable<GraphNode>): ImageGraph {
  const byKey = new Map<string, GraphNode>();
  const followers = new Map<string, string[]>();
  const producers = new Map<string, string[]>();
  const push = (m: Map<string, string[]>, k: string, v: string) => {
    const l = m.get(k);
    if (l) {
      if (!l.includes(v)) l.push(v);
    } else m.set(k, [v]);
  };
  for (const n of nodes) {
    byKey.set(n.key, n);
    for (const image of n.follows) push(followers, image, n.key);
    if (n.output) push(producers, n.output, n.key);
  }
  return { nodes: byKey, followers, producers };
}

/** BuildConfigs that rebuild when `key`'s output changes. */
export function dependentsOf(graph: ImageGraph, key: string): readonly string[] {
  const out = graph.nodes.get(key)?.output;
  return out ? (graph.followers.get(out) ?? []) : [];
}

/** BuildConfigs whose output `key` follows. */
export function upstreamsOf(graph: ImageGraph, key: string): string[] {
  const n = graph.nodes.get(key);
  if (!n) return [];
  return [...new Set(n.follows.flatMap((img) => graph.producers.get(img) ?? []))];
}

/**
 * A cycle of ImageChange dependencies, as the path that closes it
 * (`["a", "b", "a"]`), or undefined. A BuildConfig that follows its own
 * output is a cycle of one.
 */
export function findCycle(graph: ImageGraph): string[] | undefined {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = new Map<string, number>();
  for (const start of [...graph.nodes.keys()].sort()) {
    if ((color.get(start) ?? WHITE) !== WHITE) continue;
    // Iterative DFS keeping the path, so deep chains do not overflow the stack.
    const path: string[] = [];
    const stack: { key: string; next: readonly string[]; i: number }[] = [];
    const enter = (key: string) => {
      color.set(key, GREY);
      path.push(key);
      stack.push({ key, next: [...dependentsOf(graph, key)].sort(), i: 0 });
    };
    enter(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.i >= top.next.length) {
        color.set(top.key, BLACK);
        stack.pop();
        path.pop();
        continue;
      }
      const child = top.next[top.i++]!;
      const c = color.get(child) ?? WHITE;
      if (c === GREY) return [...path.slice(path.indexOf(child)), child];
      if (c === WHITE) enter(child);
    }
  }
  return undefined;
}

export interface PlanState {
  /** The digest each base had in the BuildConfig's last successful build (or last trigger). */
  lastDigest(key: string, image: string): string | undefined;
  /** The id of a queued (New) build of the BuildConfig, which new causes coalesce into. */
  queuedBuild(key: string): string | undefined;
  /**
   * Why this image update is already taken care of for this BuildConfig, if
   * it is: e.g. a build of it already waits for (or ran after) the build that
   * pushed this digest, as a plan ordered it.
   */
  alreadyPlanned?(key: string, image: string, digest: string): string | undefined;
}

export interface PlannedBuild {
  key: string;
  wave: number;
  reason: string;
  /** Upstream BuildConfigs in this plan that must complete first. */
  dependsOn: string[];
  /** Set when the event joins an already queued build instead of queueing one. */
  coalesceInto?: string;
}

export interface Plan {
  waves: PlannedBuild[][];
  skipped: { key: string; reason: string }[];
}

export interface Root {
  key: string;
  reason: string;
}

/**
 * Plan the downstream closure of some root builds in topological waves.
 * Roots are the BuildConfigs the event itself asks for; every BuildConfig
 * that follows one of their outputs, transitively, joins the plan.
 */
export function planClosure(graph: ImageGraph, roots: readonly Root[], state: PlanState, skipped: Plan["skipped"] = []): Plan {
  const reason = new Map<string, string>();
  for (const r of roots) if (graph.nodes.has(r.key) && !reason.has(r.key)) reason.set(r.key, r.reason);
  // Closure, breadth first: each node once, whatever the number of paths to it.
  const queue = [...reason.keys()];
  for (let i = 0; i < queue.length; i++) {
    const key = queue[i]!;
    for (const d of dependentsOf(graph, key)) {
      if (reason.has(d)) continue;
      reason.set(d, `base ${graph.nodes.get(key)!.output} is rebuilt by ${key}`);
      queue.push(d);
    }
  }
  // Kahn's algorithm over the closure.
  const inPlan = new Set(queue);
  const ups = new Map<string, string[]>();
  const indegree = new Map<string, number>();
  for (const key of queue) {
    const u = upstreamsOf(graph, key).filter((x) => inPlan.has(x) && x !== key);
    ups.set(key, u);
    indegree.set(key, u.length);
  }
  const waves: PlannedBuild[][] = [];
  let frontier = queue.filter((k) => indegree.get(k) === 0).sort();
  const placed = new Set<string>();
  while (frontier.length > 0) {
    const wave = waves.length;
    waves.push(
      frontier.map((key) => {
        const q = state.queuedBuild(key);
        return { key, wave, reason: reason.get(key)!, dependsOn: ups.get(key)!, ...(q ? { coalesceInto: q } : {}) };
      }),
    );
    for (const k of frontier) placed.add(k);
    const next: string[] = [];
    for (const key of frontier) {
      for (const d of dependentsOf(graph, key)) {
        if (!inPlan.has(d) || placed.has(d) || d === key) continue;
        const left = indegree.get(d)! - 1;
        indegree.set(d, left);
        if (left === 0) next.push(d);
      }
    }
    frontier = [...new Set(next)].sort();
  }
  for (const key of queue) {
    if (!placed.has(key)) skipped.push({ key, reason: "part of an ImageChange cycle; not planned" });
  }
  return { waves, skipped };
}

/** An image now points at `digest`: plan every BuildConfig that follows it, and their closure. */
export function planImageUpdate(graph: ImageGraph, event: { image: string; digest: string }, state: PlanState): Plan {
  const roots: Root[] = [];
  const skipped: Plan["skipped"] = [];
  for (const key of graph.followers.get(event.image) ?? []) {
    const last = state.lastDigest(key, event.image);
    const planned = state.alreadyPlanned?.(key, event.image, event.digest);
    if (last === event.digest) {
      skipped.push({ key, reason: `already built from ${event.image}@${event.digest}` });
    } else if (planned) {
      skipped.push({ key, reason: planned });
    } else {
      roots.push({ key, reason: `base ${event.image} changed to ${event.digest}${last ? ` (was ${last})` : ""}` });
    }
  }
  return planClosure(graph, roots, state, skipped);
}

/** Every BuildConfig downstream of `key` in a plan: what a failure of `key` leaves not run. */
export function downstreamInPlan(plan: Plan, key: string): string[] {
  const all = plan.waves.flat();
  const out = new Set<string>();
  const walk = (k: string) => {
    for (const p of all) {
      if (p.dependsOn.includes(k) && !out.has(p.key)) {
        out.add(p.key);
        walk(p.key);
      }
    }
  };
  walk(key);
  return [...out].sort();
}
