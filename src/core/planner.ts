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
 * the estate. The output is compact too (a {@link CompactPlan}: typed arrays
 * of node positions, with strings and objects made only when read), so a plan
 * of ten thousand builds allocates a few typed arrays, not ten thousand
 * objects. Planning reuses scratch arrays kept with the graph: it is
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
   * Every queued build that `queuedBuild` knows, as `[key, build id]`, one
   * entry per key. When given, the planner reads coalescing from it (at the
   * cost of the queued builds, not of the plan) and does not call
   * `queuedBuild`; it must then agree with `queuedBuild` on every key.
   */
  queuedBuilds?(): Iterable<readonly [string, string]>;
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

/** A plan as objects: what `cascade plan` prints and the API answers. */
export interface Plan {
  waves: PlannedBuild[][];
  skipped: { key: string; reason: string }[];
}

export interface Root {
  key: string;
  reason: string;
}

/**
 * Fields of a node's record in `Compiled.rec` (REC ints per node, so that
 * what planning reads and writes of one node lies together, in 32 bytes).
 */
const STAMP = 0; // (generation << 1) when in the current closure, | 1 once placed in a wave
const INDEGREE = 1; // upstreams in the closure not yet placed
const WHY = 2; // the node whose rebuild brought it in, or -1 - (the index of its root)
const WPOS = 3; // its position in the plan, once placed
const DEP_START = 4; // its dependents: deps[DEP_START .. DEP_END)
const DEP_END = 5;
const UP_START = 6; // its upstreams: ups[UP_START .. UP_END)
const UP_END = 7;
const REC = 8;

/**
 * The graph as integers, built once per graph. Nodes are numbered in key
 * order, so sorting a wave by key is sorting its numbers. Each node has one
 * record of REC ints: its slices of the flat dependents and upstreams
 * arrays, and the per-plan fields, stamped with a generation so that nothing
 * is cleared per event. Planning then touches typed arrays, not string-keyed
 * Maps.
 */
interface Compiled {
  /** Node -> key, in key order. */
  keys: string[];
  outputs: (string | undefined)[];
  index: Map<string, number>;
  /** image -> its followers' node numbers, in `graph.followers` order. */
  followers: Map<string, Int32Array>;
  rec: Int32Array;
  deps: Int32Array;
  ups: Int32Array;
  /** Memo: the reason of a build brought in because node u rebuilds (a function of the graph alone). */
  rebuilt: (string | undefined)[];
  // Scratch for one plan.
  queue: Int32Array;
  order: Int32Array;
  sortTmp: Int32Array;
  sortCount: Int32Array;
  generation: number;
}

const compiledGraphs = new WeakMap<ImageGraph, Compiled>();

function compile(graph: ImageGraph): Compiled {
  const cached = compiledGraphs.get(graph);
  if (cached) return cached;
  // Array.prototype.sort's default order (UTF-16 code units) is the order `<` gives: the key order of waves.
  const keys = [...graph.nodes.keys()].sort();
  const n = keys.length;
  const index = new Map<string, number>();
  keys.forEach((k, i) => index.set(k, i));
  const outputs = keys.map((k) => graph.nodes.get(k)!.output);
  const rec = new Int32Array(n * REC);
  const deps: number[] = [];
  const ups: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = i * REC;
    rec[r + DEP_START] = deps.length;
    for (const d of dependentsOf(graph, keys[i]!)) {
      const j = index.get(d);
      if (j !== undefined) deps.push(j);
    }
    rec[r + DEP_END] = deps.length;
    rec[r + UP_START] = ups.length;
    for (const u of upstreamsOf(graph, keys[i]!)) {
      const j = index.get(u);
      if (j !== undefined) ups.push(j);
    }
    rec[r + UP_END] = ups.length;
  }
  const followers = new Map<string, Int32Array>();
  for (const [image, ks] of graph.followers) {
    followers.set(image, Int32Array.from(ks.flatMap((k) => (index.has(k) ? [index.get(k)!] : []))));
  }
  const c: Compiled = {
    keys,
    outputs,
    index,
    followers,
    rec,
    deps: Int32Array.from(deps),
    ups: Int32Array.from(ups),
    rebuilt: new Array<string | undefined>(n),
    queue: new Int32Array(n),
    order: new Int32Array(n),
    sortTmp: new Int32Array(n),
    sortCount: new Int32Array(RADIX),
    generation: 0,
  };
  compiledGraphs.set(graph, c);
  return c;
}

/**
 * A plan in compact form, the planner's output: the planned builds in wave
 * order (waves one after the other, each in key order) as positions
 * 0..size-1, with each position's BuildConfig, reason, upstream positions and
 * coalescing read through accessors. Strings already held by the graph are
 * returned as they are; nothing per build is allocated until asked for.
 *
 * A CompactPlan is also a {@link Plan}: reading `waves` materialises the
 * PlannedBuild objects (once), and JSON gives `{waves, skipped}`. Spreading
 * or deep equality see only `skipped`: use `materialise()` for a plain Plan.
 * (`waves` is a getter on the prototype, not an own property, so that
 * instances keep V8's fast property access for the accessors.)
 */
export class CompactPlan implements Plan {
  /** Skipped BuildConfigs and why: a plain array, which callers may extend. */
  readonly skipped: Plan["skipped"];
  readonly #c: Compiled;
  /** Position -> node index. */
  readonly #order: Int32Array;
  /** Wave w is positions waveStarts[w] .. waveStarts[w + 1] - 1. */
  readonly #waveStarts: Int32Array;
  /** Position -> the node whose rebuild brought it in, or -1 - (the index of its root). */
  readonly #why: Int32Array;
  /** The reason of root k, made when first read. */
  readonly #rootReason: (k: number) => string;
  #rootMemo: (string | undefined)[] | undefined;
  /** Position p's upstream positions are #ups[#upStart[p]] .. #ups[#upStart[p + 1] - 1]. */
  readonly #upStart: Int32Array;
  readonly #ups: Int32Array;
  /** Position -> 1 + the index in #queuedIds of the build it coalesces into, or 0. */
  readonly #coalesceAt: Int32Array;
  readonly #queuedIds: readonly string[];
  #materialised: PlannedBuild[][] | undefined;

  /** @internal Made by the planner only. */
  constructor(
    c: Compiled,
    parts: {
      order: Int32Array;
      waveStarts: Int32Array;
      why: Int32Array;
      rootReason: (k: number) => string;
      upStart: Int32Array;
      ups: Int32Array;
      coalesceAt: Int32Array;
      queuedIds: readonly string[];
    },
    skipped: Plan["skipped"],
  ) {
    this.#c = c;
    this.#order = parts.order;
    this.#waveStarts = parts.waveStarts;
    this.#why = parts.why;
    this.#rootReason = parts.rootReason;
    this.#upStart = parts.upStart;
    this.#ups = parts.ups;
    this.#coalesceAt = parts.coalesceAt;
    this.#queuedIds = parts.queuedIds;
    this.skipped = skipped;
  }

  /** The planned builds as PlannedBuild objects, wave by wave: made on first read, then kept. */
  get waves(): PlannedBuild[][] {
    return (this.#materialised ??= this.#materialiseWaves());
  }

  /** Number of planned builds. */
  get size(): number {
    return this.#order.length;
  }

  get waveCount(): number {
    return this.#waveStarts.length - 1;
  }

  /** First position of wave `w` (`waveStart(waveCount)` is `size`). */
  waveStart(w: number): number {
    return this.#waveStarts[w]!;
  }

  /** The wave of position `p`. */
  wave(p: number): number {
    const s = this.#waveStarts;
    let lo = 0;
    let hi = s.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= p) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The BuildConfig (`namespace/name`) at position `p`. */
  key(p: number): string {
    return this.#c.keys[this.#order[p]!]!;
  }

  /** Why position `p` builds: its root's reason, or the upstream rebuild that brought it in. */
  reason(p: number): string {
    const w = this.#why[p]!;
    if (w < 0) return ((this.#rootMemo ??= [])[-1 - w] ??= this.#rootReason(-1 - w));
    const c = this.#c;
    return (c.rebuilt[w] ??= `base ${c.outputs[w]} is rebuilt by ${c.keys[w]}`);
  }

  /**
   * Positions of the upstream builds in this plan that must complete first,
   * in graph order; all before `p`. Only a graph built from nodes that share
   * a key (whose adjacency is then one-sided) breaks that order, and gives a
   * negative entry for an upstream in the closure that is not planned: skip it.
   * This makes a view per call; `upstreamCount` and `upstream` make none.
   */
  upstreams(p: number): Int32Array {
    return this.#ups.subarray(this.#upStart[p]!, this.#upStart[p + 1]!);
  }

  /** Number of entries `upstreams(p)` has; with `upstream(p, k)`, reads them without making a view. */
  upstreamCount(p: number): number {
    return this.#upStart[p + 1]! - this.#upStart[p]!;
  }

  /** Entry k of `upstreams(p)`. */
  upstream(p: number, k: number): number {
    return this.#ups[this.#upStart[p]! + k]!;
  }

  /** The upstream BuildConfigs of position `p`, as keys. */
  dependsOn(p: number): string[] {
    const out: string[] = [];
    for (let e = this.#upStart[p]!; e < this.#upStart[p + 1]!; e++) {
      const u = this.#ups[e]!;
      out.push(u >= 0 ? this.key(u) : this.#c.keys[-1 - u]!);
    }
    return out;
  }

  /** The queued build that position `p` joins instead of queueing one, if any. */
  coalesceInto(p: number): string | undefined {
    const q = this.#coalesceAt[p]!;
    return q === 0 ? undefined : this.#queuedIds[q - 1];
  }

  /** The plan as plain objects (`{waves, skipped}`). */
  materialise(): Plan {
    return { waves: this.waves, skipped: this.skipped };
  }

  toJSON(): Plan {
    return this.materialise();
  }

  #materialiseWaves(): PlannedBuild[][] {
    const waves: PlannedBuild[][] = [];
    for (let w = 0; w < this.waveCount; w++) {
      const wave: PlannedBuild[] = [];
      for (let p = this.#waveStarts[w]!; p < this.#waveStarts[w + 1]!; p++) {
        const build: PlannedBuild = { key: this.key(p), wave: w, reason: this.reason(p), dependsOn: this.dependsOn(p) };
        const q = this.coalesceInto(p);
        if (q) build.coalesceInto = q;
        wave.push(build);
      }
      waves.push(wave);
    }
    return waves;
  }
}

/**
 * Plan the downstream closure of some root builds in topological waves.
 * Roots are the BuildConfigs the event itself asks for; every BuildConfig
 * that follows one of their outputs, transitively, joins the plan.
 */
export function planClosure(graph: ImageGraph, roots: readonly Root[], state: PlanState, skipped: Plan["skipped"] = []): CompactPlan {
  const c = compile(graph);
  const nodes: number[] = [];
  const reasons: string[] = [];
  for (const r of roots) {
    const i = c.index.get(r.key);
    if (i === undefined) continue;
    nodes.push(i);
    reasons.push(r.reason);
  }
  return plan(c, nodes, (k) => reasons[k]!, state, skipped);
}

/** An image now points at `digest`: plan every BuildConfig that follows it, and their closure. */
export function planImageUpdate(graph: ImageGraph, event: { image: string; digest: string }, state: PlanState): CompactPlan {
  const c = compile(graph);
  const { image, digest } = event;
  const nodes: number[] = [];
  const lasts: (string | undefined)[] = [];
  const skipped: Plan["skipped"] = [];
  for (const i of c.followers.get(image) ?? []) {
    const key = c.keys[i]!;
    const last = state.lastDigest(key, image);
    const planned = last === digest ? undefined : state.alreadyPlanned?.(key, image, digest);
    if (last === digest) {
      skipped.push({ key, reason: `already built from ${image}@${digest}` });
    } else if (planned) {
      skipped.push({ key, reason: planned });
    } else {
      nodes.push(i);
      lasts.push(last);
    }
  }
  return plan(c, nodes, (k) => `base ${image} changed to ${digest}${lasts[k] ? ` (was ${lasts[k]})` : ""}`, state, skipped);
}

const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;

/**
 * Sort `order[from..to)` ascending: node numbers are key ranks. A large wave
 * (a base rebuilt under thousands of BuildConfigs) is radix sorted, 11 bits a
 * pass, which is several times faster than TypedArray sort at that size.
 */
function sortWave(c: Compiled, from: number, to: number): void {
  const len = to - from;
  const { order } = c;
  if (len < 512) {
    order.subarray(from, to).sort();
    return;
  }
  const { sortTmp: tmp, sortCount: count } = c;
  const bits = 32 - Math.clz32(Math.max(1, c.keys.length - 1));
  for (let shift = 0; shift < bits; shift += RADIX_BITS) {
    count.fill(0);
    for (let p = from; p < to; p++) count[(order[p]! >>> shift) & (RADIX - 1)]!++;
    for (let b = 0, sum = 0; b < RADIX; b++) {
      const n = count[b]!;
      count[b] = sum;
      sum += n;
    }
    for (let p = from; p < to; p++) {
      const v = order[p]!;
      tmp[count[(v >>> shift) & (RADIX - 1)]!++] = v;
    }
    order.set(tmp.subarray(0, len), from);
  }
}

/** A new generation for the records' stamps, which hold it shifted by one bit: records are cleaned before it overflows. */
function nextGeneration(c: Compiled): number {
  if (c.generation >= 0x3ffffffe) {
    for (let i = 0; i < c.keys.length; i++) c.rec[i * REC + STAMP] = 0;
    c.generation = 0;
  }
  return ++c.generation;
}

/**
 * The closure of root nodes (breadth first: each node once, whatever the
 * number of paths to it), then Kahn's algorithm over it, wave by wave, into
 * the scratch arrays; the plan keeps exact-size copies.
 */
function plan(c: Compiled, roots: readonly number[], rootReason: (k: number) => string, state: PlanState, skipped: Plan["skipped"]): CompactPlan {
  const gen = nextGeneration(c);
  const IN = gen << 1;
  const PLACED = IN | 1;
  const { keys, rec, queue, order, deps, ups } = c;
  let qn = 0;
  for (let k = 0; k < roots.length; k++) {
    const i = roots[k]!;
    const r = i * REC;
    if (rec[r + STAMP] === IN) continue;
    rec[r + STAMP] = IN;
    rec[r + WHY] = -1 - k;
    queue[qn++] = i;
  }
  for (let q = 0; q < qn; q++) {
    const i = queue[q]!;
    const r = i * REC;
    for (let e = rec[r + DEP_START]!, end = rec[r + DEP_END]!; e < end; e++) {
      const d = deps[e]!;
      const rd = d * REC;
      if (rec[rd + STAMP] === IN) continue;
      rec[rd + STAMP] = IN;
      rec[rd + WHY] = i;
      queue[qn++] = d;
    }
  }
  // Kahn's algorithm: the first wave is every node with no upstream in the closure.
  let on = 0;
  let edges = 0; // upstream entries the plan keeps: every in-closure upstream of every node
  for (let q = 0; q < qn; q++) {
    const i = queue[q]!;
    const r = i * REC;
    let u = 0;
    for (let e = rec[r + UP_START]!, end = rec[r + UP_END]!; e < end; e++) {
      const x = ups[e]!;
      if (x !== i && rec[x * REC + STAMP]! >>> 1 === gen) u++;
    }
    rec[r + INDEGREE] = u;
    edges += u;
    if (u === 0) order[on++] = i;
  }
  const waveStarts: number[] = [0];
  for (let ws = 0; on > ws; ) {
    const we = on;
    // Nodes are numbered in key order: sorting the numbers sorts the wave by key.
    if (we - ws > 1) sortWave(c, ws, we);
    for (let p = ws; p < we; p++) {
      const r = order[p]! * REC;
      rec[r + STAMP] = PLACED;
      rec[r + WPOS] = p;
    }
    for (let p = ws; p < we; p++) {
      const i = order[p]!;
      const r = i * REC;
      for (let e = rec[r + DEP_START]!, end = rec[r + DEP_END]!; e < end; e++) {
        const d = deps[e]!;
        const rd = d * REC;
        if (rec[rd + STAMP] !== IN || d === i) continue;
        if (--rec[rd + INDEGREE]! === 0) order[on++] = d;
      }
    }
    waveStarts.push(we);
    ws = we;
  }
  for (let q = 0; q < qn; q++) {
    const i = queue[q]!;
    if (rec[i * REC + STAMP] !== PLACED) skipped.push({ key: keys[i]!, reason: "part of an ImageChange cycle; not planned" });
  }
  const size = on;
  // One buffer for the plan's arrays: order, why and upStart, then the upstream positions of placed
  // nodes: at most `edges` of them (the upstreams of nodes left on a cycle are not kept).
  const buf = new Int32Array(4 * size + 1 + edges);
  const orderOut = buf.subarray(0, size);
  orderOut.set(order.subarray(0, size));
  const whyOut = buf.subarray(size, 2 * size);
  const coalesceAt = buf.subarray(2 * size, 3 * size);
  const upStartOut = buf.subarray(3 * size, 4 * size + 1);
  const upsAll = buf.subarray(4 * size + 1);
  let un = 0;
  for (let p = 0; p < size; p++) {
    const i = order[p]!;
    const r = i * REC;
    whyOut[p] = rec[r + WHY]!;
    upStartOut[p] = un;
    for (let e = rec[r + UP_START]!, end = rec[r + UP_END]!; e < end; e++) {
      const x = ups[e]!;
      if (x === i) continue;
      const stamp = rec[x * REC + STAMP]!;
      // An upstream in the closure is placed before any node that waits for it, unless the graph
      // was built from nodes sharing a key (its adjacency is then one-sided): such an upstream is
      // kept as -1 - node, so that dependsOn still names it.
      if (stamp === PLACED) upsAll[un++] = rec[x * REC + WPOS]!;
      else if (stamp === IN) upsAll[un++] = -1 - x;
    }
  }
  const upsOut = upsAll.subarray(0, un);
  upStartOut[size] = un;
  const queuedIds: string[] = [];
  const queued = state.queuedBuilds?.();
  if (queued) {
    for (const [key, id] of queued) {
      const i = c.index.get(key);
      if (i === undefined || !id || rec[i * REC + STAMP] !== PLACED) continue;
      queuedIds.push(id);
      coalesceAt[rec[i * REC + WPOS]!] = queuedIds.length;
    }
  } else {
    for (let p = 0; p < size; p++) {
      const id = state.queuedBuild(keys[order[p]!]!);
      if (!id) continue;
      queuedIds.push(id);
      coalesceAt[p] = queuedIds.length;
    }
  }
  return new CompactPlan(
    c,
    {
      order: orderOut,
      waveStarts: Int32Array.from(waveStarts),
      why: whyOut,
      rootReason,
      upStart: upStartOut,
      ups: upsOut,
      coalesceAt,
      queuedIds,
    },
    skipped,
  );
}

/**
 * These BuildConfigs and every one downstream of them, each once (keys not in
 * the graph are left out): the most a plan from these roots can touch, so
 * that the state it needs can be read before planning.
 */
export function downstreamClosure(graph: ImageGraph, keys: Iterable<string>): string[] {
  const c = compile(graph);
  const IN = nextGeneration(c) << 1;
  const { rec, deps, queue } = c;
  let qn = 0;
  for (const k of keys) {
    const i = c.index.get(k);
    if (i === undefined || rec[i * REC + STAMP] === IN) continue;
    rec[i * REC + STAMP] = IN;
    queue[qn++] = i;
  }
  for (let q = 0; q < qn; q++) {
    const r = queue[q]! * REC;
    for (let e = rec[r + DEP_START]!, end = rec[r + DEP_END]!; e < end; e++) {
      const d = deps[e]!;
      if (rec[d * REC + STAMP] === IN) continue;
      rec[d * REC + STAMP] = IN;
      queue[qn++] = d;
    }
  }
  const out = new Array<string>(qn);
  for (let q = 0; q < qn; q++) out[q] = c.keys[queue[q]!]!;
  return out;
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
