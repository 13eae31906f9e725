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
 * Indexes are built once per graph (string maps, then integer adjacency in
 * typed arrays), so planning costs the size of the affected closure, not of
 * the estate. Planning reuses scratch arrays kept with the graph: it is
 * deterministic (same inputs, same plan) but not re-entrant, so a PlanState
 * callback must not plan on the same graph.
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
  const graph = { nodes: byKey, followers, producers };
  compile(graph);
  return graph;
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
 * The graph as integers, built once per graph: node i's dependents and
 * upstreams as slices of flat Int32Arrays, its rank in key order, and scratch
 * marks reused by every plan (stamped with a generation, so nothing is cleared
 * per event). Planning then touches typed arrays, not string-keyed Maps.
 */
interface Compiled {
  keys: string[];
  outputs: (string | undefined)[];
  index: Map<string, number>;
  depStart: Int32Array;
  deps: Int32Array;
  upStart: Int32Array;
  ups: Int32Array;
  rank: Int32Array;
  byRank: Int32Array;
  mark: Int32Array;
  /** Position of a node in the current plan's queue (valid where `mark` is the current generation). */
  pos: Int32Array;
  placed: Int32Array;
  indegree: Int32Array;
  generation: number;
}

const compiledGraphs = new WeakMap<ImageGraph, Compiled>();

function compile(graph: ImageGraph): Compiled {
  const cached = compiledGraphs.get(graph);
  if (cached) return cached;
  const keys = [...graph.nodes.keys()];
  const n = keys.length;
  const index = new Map<string, number>();
  keys.forEach((k, i) => index.set(k, i));
  const outputs = keys.map((k) => graph.nodes.get(k)!.output);
  const depStart = new Int32Array(n + 1);
  const upStart = new Int32Array(n + 1);
  const deps: number[] = [];
  const ups: number[] = [];
  for (let i = 0; i < n; i++) {
    depStart[i] = deps.length;
    for (const d of dependentsOf(graph, keys[i]!)) {
      const j = index.get(d);
      if (j !== undefined) deps.push(j);
    }
    upStart[i] = ups.length;
    for (const u of upstreamsOf(graph, keys[i]!)) {
      const j = index.get(u);
      if (j !== undefined) ups.push(j);
    }
  }
  depStart[n] = deps.length;
  upStart[n] = ups.length;
  const byRank = Int32Array.from(keys.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0)));
  const rank = new Int32Array(n);
  byRank.forEach((i, r) => (rank[i] = r));
  const c: Compiled = {
    keys,
    outputs,
    index,
    depStart,
    deps: Int32Array.from(deps),
    upStart,
    ups: Int32Array.from(ups),
    rank,
    byRank,
    mark: new Int32Array(n),
    pos: new Int32Array(n),
    placed: new Int32Array(n),
    indegree: new Int32Array(n),
    generation: 0,
  };
  compiledGraphs.set(graph, c);
  return c;
}

/** Node indexes in key order (the order `Array.prototype.sort` gives the keys). */
function sortByKey(c: Compiled, xs: number[]): number[] {
  const r = new Int32Array(xs.length);
  for (let i = 0; i < xs.length; i++) r[i] = c.rank[xs[i]!]!;
  r.sort();
  const out = new Array<number>(r.length);
  for (let i = 0; i < r.length; i++) out[i] = c.byRank[r[i]!]!;
  return out;
}

/**
 * Plan the downstream closure of some root builds in topological waves.
 * Roots are the BuildConfigs the event itself asks for; every BuildConfig
 * that follows one of their outputs, transitively, joins the plan.
 */
export function planClosure(graph: ImageGraph, roots: readonly Root[], state: PlanState, skipped: Plan["skipped"] = []): Plan {
  const c = compile(graph);
  const gen = ++c.generation;
  const { keys, mark, pos, placed, indegree, depStart, deps, upStart, ups } = c;
  const reason: string[] = [];
  const queue: number[] = [];
  for (const r of roots) {
    const i = c.index.get(r.key);
    if (i === undefined || mark[i] === gen) continue;
    mark[i] = gen;
    pos[i] = queue.length;
    reason.push(r.reason);
    queue.push(i);
  }
  // Closure, breadth first: each node once, whatever the number of paths to it.
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q]!;
    for (let e = depStart[i]!; e < depStart[i + 1]!; e++) {
      const d = deps[e]!;
      if (mark[d] === gen) continue;
      mark[d] = gen;
      pos[d] = queue.length;
      reason.push(`base ${c.outputs[i]} is rebuilt by ${keys[i]}`);
      queue.push(d);
    }
  }
  // Kahn's algorithm over the closure.
  const dependsOn: string[][] = [];
  const frontier0: number[] = [];
  for (const i of queue) {
    const u: string[] = [];
    for (let e = upStart[i]!; e < upStart[i + 1]!; e++) {
      const x = ups[e]!;
      if (mark[x] === gen && x !== i) u.push(keys[x]!);
    }
    dependsOn.push(u);
    indegree[i] = u.length;
    if (u.length === 0) frontier0.push(i);
  }
  const waves: PlannedBuild[][] = [];
  let frontier = sortByKey(c, frontier0);
  while (frontier.length > 0) {
    const wave = waves.length;
    waves.push(
      frontier.map((i) => {
        const key = keys[i]!;
        const q = state.queuedBuild(key);
        const p = pos[i]!;
        const build: PlannedBuild = { key, wave, reason: reason[p]!, dependsOn: dependsOn[p]! };
        if (q) build.coalesceInto = q;
        return build;
      }),
    );
    for (const i of frontier) placed[i] = gen;
    const next: number[] = [];
    for (const i of frontier) {
      for (let e = depStart[i]!; e < depStart[i + 1]!; e++) {
        const d = deps[e]!;
        if (mark[d] !== gen || placed[d] === gen || d === i) continue;
        if (--indegree[d]! === 0) next.push(d);
      }
    }
    frontier = sortByKey(c, next);
  }
  for (const i of queue) {
    if (placed[i] !== gen) skipped.push({ key: keys[i]!, reason: "part of an ImageChange cycle; not planned" });
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
