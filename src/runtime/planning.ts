/**
 * Planning at run time: keep the graph, ask the pure planner, and turn its
 * plan into queued builds (with their dependencies) or causes coalesced into
 * builds already queued. Also follows through after a build: its pushed image
 * is an image update, and its failure leaves its downstream builds not run.
 *
 * Kept across events (the "estate"): every BuildConfig, the image dependency
 * graph compiled from them and the bases their builds recorded, and the
 * repository index (normalised repository URL -> BuildConfigs). It is keyed
 * on the store's planning revision, which every BuildConfig put and every
 * change of recorded bases bumps, in the same write: each event reads the
 * revision (one small read) and reloads the estate from the store when it
 * moved. So a cold process (a Lambda) builds it from the store, and a process
 * never plans on a graph older than the revision it read, whoever changed it.
 * Per event, the store is asked only about the BuildConfigs the event can
 * touch: the recent builds of the followers and producers of an updated
 * image (or of a push's roots), and the queued builds of their downstream
 * closure.
 */
import type { Logger } from "pino";
import { isTerminal, type Build, type BuildCause } from "../core/build.js";
import type { BuildConfig, ObjectReference } from "../core/buildconfig.js";
import { ConflictError, NotFoundError } from "../core/errors.js";
import type { GitRefEvent } from "../core/events-in.js";
import { graphNode } from "../core/graph-nodes.js";
import { matchGitEvent, RepositoryIndex } from "../core/match.js";
import { normalizeImageRef, parseImageRef } from "../core/image-ref.js";
import {
  buildGraph,
  downstreamClosure,
  planClosure,
  planImageUpdate,
  type CompactPlan,
  type ImageGraph,
  type Plan,
  type PlanState,
  type Root,
} from "../core/planner.js";
import type { Clock } from "../ports/clock.js";
import type { BuildConfigRef, BuildRequest, Delivery, RecentBuilds, Store, StoredBuildConfig } from "../ports/store.js";
import { sourceInputs, type Builds } from "./builds.js";

export interface PlanningOptions {
  store: Store;
  builds: Builds;
  clock: Clock;
  log: Logger;
  /** How ImageStreamTag and DockerImage references become images; default the builds' resolver. */
  resolve?: (ref: ObjectReference, namespace: string) => string;
}

export interface SubmitOptions {
  delivery?: Delivery;
  inputsFor?: (key: string, c: BuildConfig) => BuildRequest["inputs"] | undefined;
  outputTagsFor?: (key: string) => string[] | undefined;
  envFor?: (key: string) => BuildRequest["env"] | undefined;
  noCoalesce?: Set<string>;
}

export interface Submitted {
  builds: Build[];
  coalesced: { build: string; buildConfig: string }[];
  skipped: { buildConfig: string; reason: string }[];
  duplicate: boolean;
}

/** The reason recorded on a chain build that did not run because its upstreams changed nothing it uses. */
export const UPSTREAM_UNCHANGED = "UpstreamUnchanged";

/** How many of a BuildConfig's newest builds planning reads for what they waited on and pushed. */
const RECENT_BUILDS = 10;

/** What planning keeps across events, as of one planning revision of the store. */
interface Estate {
  revision: number;
  /** Every BuildConfig, in the store's order. */
  configs: BuildConfig[];
  byKey: Map<string, StoredBuildConfig>;
  graph: ImageGraph;
  repositories: RepositoryIndex;
  /** Output repository (`registry/repository`, no tag) -> the BuildConfigs that push to it. */
  pushersTo: Map<string, string[]>;
}

const keyOf = (c: BuildConfig) => `${c.metadata.namespace ?? "default"}/${c.metadata.name}`;
const refOf = (key: string): BuildConfigRef => {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
};
const repositoryOf = (image: string): string | undefined => {
  try {
    const r = parseImageRef(image);
    return `${r.registry}/${r.repository}`;
  } catch {
    return undefined;
  }
};

export class Planning {
  private readonly resolve: (ref: ObjectReference, namespace: string) => string;
  private kept: Estate | undefined;
  private loading: { revision: number; estate: Promise<Estate> } | undefined;

  constructor(private readonly o: PlanningOptions) {
    this.resolve = o.resolve ?? ((ref, ns) => o.builds.resolveRef(ref, ns));
  }

  /** The estate as of the store's current planning revision: the one kept, or loaded again when the revision moved. */
  private async estate(): Promise<Estate> {
    const revision = await this.o.store.planningRevision();
    if (this.kept?.revision === revision) return this.kept;
    if (this.loading?.revision === revision) return this.loading.estate;
    const estate = this.load(revision).then(
      (e) => {
        // Revisions only grow: a slower load of an older revision never replaces a newer estate.
        if (!this.kept || this.kept.revision < revision) this.kept = e;
        if (this.loading?.revision === revision) this.loading = undefined;
        return e;
      },
      (err: unknown) => {
        if (this.loading?.revision === revision) this.loading = undefined;
        throw err;
      },
    );
    this.loading = { revision, estate };
    return estate;
  }

  /** Everything the estate holds, read from the store after `revision` was (so never older than it). */
  private async load(revision: number): Promise<Estate> {
    const stored = await this.o.store.listBuildConfigs();
    const byKey = new Map(stored.map((s) => [keyOf(s.config), s]));
    const configs = stored.map((s) => s.config);
    const graph = buildGraph(stored.map((s) => graphNode(s.config, { resolve: this.resolve, recordedBases: s.recordedBases ?? [] })));
    const pushersTo = new Map<string, string[]>();
    for (const n of graph.nodes.values()) {
      const repo = n.output === undefined ? undefined : repositoryOf(n.output);
      if (repo === undefined) continue;
      const l = pushersTo.get(repo);
      if (l) l.push(n.key);
      else pushersTo.set(repo, [n.key]);
    }
    this.o.log.debug({ revision, buildConfigs: configs.length }, "planning estate loaded");
    return { revision, configs, byKey, graph, repositories: new RepositoryIndex(configs), pushersTo };
  }

  /**
   * The image dependency graph of every stored BuildConfig (or of `configs`,
   * e.g. before applying them), with the bases their builds recorded.
   */
  async graph(configs?: BuildConfig[]): Promise<ImageGraph> {
    const estate = await this.estate();
    if (!configs) return estate.graph;
    return buildGraph(configs.map((c) => graphNode(c, { resolve: this.resolve, recordedBases: estate.byKey.get(keyOf(c))?.recordedBases ?? [] })));
  }

  /** The BuildConfigs whose source is the repository of one of these URLs, in the store's order. */
  async repositoryConfigs(urls: readonly string[]): Promise<readonly BuildConfig[]> {
    return (await this.estate()).repositories.configsFor(urls);
  }

  /**
   * What the planner needs to know of the builds, for an event that can touch
   * `closure`: queued builds there (to coalesce into), and for `recentOf`
   * (followers of an updated image, its producers, a push's roots) their last
   * successful build's base digests and what their newest builds waited on
   * and pushed.
   */
  private async stateFor(recentOf: readonly string[], closure: readonly string[]): Promise<{ state: PlanState; recent: Map<string, RecentBuilds> }> {
    const [recent, queued] = await Promise.all([
      recentOf.length ? this.o.store.recentBuilds(recentOf.map(refOf), RECENT_BUILDS) : Promise.resolve(new Map<string, RecentBuilds>()),
      closure.length ? this.o.store.queuedBuildIds(closure.map(refOf)) : Promise.resolve(new Map<string, string>()),
    ]);
    const last = new Map<string, Map<string, string>>();
    const pushed = new Map<string, string[]>(); // `${image}@${digest}` -> ns/id of the builds that pushed it, newest first
    const waitsOn = new Map<string, Set<string>>(); // BuildConfig key -> builds its newest builds were ordered after
    for (const [key, r] of recent) {
      const c = r.lastComplete;
      if (c) last.set(key, new Map(c.inputs.bases.filter((x) => x.digest).map((x) => [normalizeImageRef(x.name), x.digest!])));
      const builds = c && !r.recent.some((b) => b.id === c.id) ? [...r.recent, c] : r.recent;
      for (const b of builds) {
        for (const d of b.dependsOn ?? []) {
          if (!waitsOn.has(key)) waitsOn.set(key, new Set());
          waitsOn.get(key)!.add(d);
        }
        if (b.phase === "Complete" && b.outputs) {
          const repo = parseImageRef(b.outputs.image);
          for (const tag of b.outputs.tags) {
            const k = `${repo.registry}/${repo.repository}:${tag}@${b.outputs.digest}`;
            if (!pushed.has(k)) pushed.set(k, []);
            pushed.get(k)!.push(`${b.namespace}/${b.id}`);
          }
        }
      }
    }
    const state: PlanState = {
      lastDigest: (k, image) => last.get(k)?.get(image),
      queuedBuild: (k) => queued.get(k),
      queuedBuilds: () => queued,
      alreadyPlanned: (k, image, digest) => {
        const producer = pushed.get(`${image}@${digest}`)?.find((p) => waitsOn.get(k)?.has(p));
        return producer ? `already planned after ${producer}, which pushed ${image}@${digest}` : undefined;
      },
    };
    return { state, recent };
  }

  /** Followed images that no BuildConfig produces and no digest pins: what the poller watches. */
  async externalBases(): Promise<string[]> {
    const g = await this.graph();
    return [...g.followers.keys()].filter((img) => !g.producers.has(img) && !parseImageRef(img).digest).sort();
  }

  /** The newest digest each image had in any successful build: the poller's starting point. */
  async lastBaseDigests(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const b of await this.o.store.listBuilds({ phases: ["Complete"], limit: 100_000 })) {
      for (const x of b.inputs.bases) if (x.digest && !out.has(normalizeImageRef(x.name))) out.set(normalizeImageRef(x.name), x.digest);
    }
    return out;
  }

  /** The plan for an image update (`name` normalised), on the estate it was made on. */
  private async imagePlan(name: string, digest: string): Promise<{ estate: Estate; plan: CompactPlan }> {
    const estate = await this.estate();
    const followers = estate.graph.followers.get(name) ?? [];
    const repo = repositoryOf(name);
    const producers = repo === undefined ? [] : (estate.pushersTo.get(repo) ?? []);
    const { state } = await this.stateFor([...new Set([...followers, ...producers])], downstreamClosure(estate.graph, followers));
    return { estate, plan: planImageUpdate(estate.graph, { image: name, digest }, state) };
  }

  /** The plan for roots an event asks for, and what their recent builds are. */
  private async rootsPlan(roots: Root[]): Promise<{ estate: Estate; plan: CompactPlan; recent: Map<string, RecentBuilds> }> {
    const estate = await this.estate();
    const keys = [...new Set(roots.map((r) => r.key))];
    const { state, recent } = await this.stateFor(keys, downstreamClosure(estate.graph, keys));
    return { estate, plan: planClosure(estate.graph, roots, state), recent };
  }

  /** Dry run of an image update: the plan, as objects. */
  async planImage(image: string, digest: string): Promise<Plan> {
    return (await this.imagePlan(normalizeImageRef(image), digest)).plan.materialise();
  }

  /** Dry run of roots: the plan, as objects. */
  async planRoots(roots: Root[]): Promise<Plan> {
    return (await this.rootsPlan(roots)).plan.materialise();
  }

  /**
   * Queue a plan: new builds wait for their upstreams in the plan; planned
   * BuildConfigs with a queued build get the cause added to it instead.
   */
  async submit(plan: CompactPlan, causeFor: (key: string, reason: string) => BuildCause, opts: SubmitOptions = {}): Promise<Submitted> {
    return this.submitOn(await this.estate(), plan, causeFor, opts);
  }

  /** `submit`, with the BuildConfigs of the estate the plan was made on. */
  private async submitOn(estate: Estate, plan: CompactPlan, causeFor: (key: string, reason: string) => BuildCause, opts: SubmitOptions): Promise<Submitted> {
    const { store } = this.o;
    // A redelivery changes nothing: not even the causes of queued builds.
    if (opts.delivery) {
      const previous = await store.deliveryBuilds(opts.delivery);
      if (previous) return { builds: previous, coalesced: [], skipped: [], duplicate: true };
    }
    const requests: BuildRequest[] = [];
    // Plan position -> the request it became (or -1), or the queued build (ns/id) it coalesced into.
    const requestAt = new Int32Array(plan.size).fill(-1);
    const existingAt = new Map<number, string>();
    const coalesced: Submitted["coalesced"] = [];
    const waitOnNew: { ns: string; id: string; requests: number[] }[] = [];
    for (let p = 0; p < plan.size; p++) {
      const key = plan.key(p);
      const [ns, name] = key.split("/") as [string, string];
      const cause = causeFor(key, plan.reason(p));
      const after = { requests: [] as number[], builds: [] as string[] };
      for (let k = 0, n = plan.upstreamCount(p); k < n; k++) {
        const u = plan.upstream(p, k);
        if (u < 0) continue;
        if (requestAt[u]! >= 0) after.requests.push(requestAt[u]!);
        const ex = existingAt.get(u);
        if (ex) after.builds.push(ex);
      }
      const stored = estate.byKey.get(key);
      if (!stored) continue;
      const inputs = opts.inputsFor?.(key, stored.config);
      const outputTags = opts.outputTagsFor?.(key);
      const env = opts.envFor?.(key);
      const into = plan.coalesceInto(p);
      // A release (tag) build never merges into a branch build: it pushes other tags.
      if (into && !opts.noCoalesce?.has(key) && !outputTags && !env?.length) {
        try {
          const queued = await store.getBuild(ns, into);
          if (queued) {
            const causes = mergeCauses(queued.causes, cause);
            const dependsOn = [...new Set([...(queued.dependsOn ?? []), ...after.builds])];
            // A newer commit replaces the queued one: the build takes the latest of the events it coalesces.
            await store.updateBuild(ns, into, { causes, ...(dependsOn.length ? { dependsOn } : {}), ...(inputs?.source?.commit ? { inputs } : {}) }, ["New"]);
            existingAt.set(p, `${ns}/${into}`);
            coalesced.push({ build: `${ns}/${into}`, buildConfig: key });
            // It must also wait for the upstream builds this plan queues: their ids exist once they are queued.
            if (after.requests.length) waitOnNew.push({ ns, id: into, requests: after.requests });
            continue;
          }
        } catch (e) {
          if (!(e instanceof ConflictError)) throw e;
          // It started meanwhile: queue a new build below.
        }
      }
      requestAt[p] = requests.length;
      requests.push({
        namespace: ns,
        buildConfig: name,
        causes: [cause],
        inputs: inputs ?? sourceInputs(stored.config),
        ...(outputTags?.length ? { outputTags } : {}),
        ...(env?.length ? { env } : {}),
        ...(after.requests.length || after.builds.length ? { after } : {}),
      });
    }
    const skipped = plan.skipped.map((s) => ({ buildConfig: s.key, reason: s.reason }));
    if (requests.length === 0) {
      const seen = opts.delivery ? await store.recordDelivery(opts.delivery, this.o.clock.now().toISOString()) : { duplicate: false };
      return { builds: [], coalesced, skipped, duplicate: seen.duplicate };
    }
    const res = await this.o.builds.enqueue(requests, opts.delivery);
    for (const w of res.duplicate ? [] : waitOnNew) {
      const queued = await store.getBuild(w.ns, w.id);
      if (!queued || queued.phase !== "New") continue;
      const extra = w.requests.map((i) => `${res.builds[i]!.namespace}/${res.builds[i]!.id}`);
      await store.updateBuild(w.ns, w.id, { dependsOn: [...new Set([...(queued.dependsOn ?? []), ...extra])] }, ["New"]).catch((e) => {
        if (!(e instanceof ConflictError)) throw e;
      });
    }
    return { builds: res.builds, coalesced, skipped, duplicate: res.duplicate };
  }

  /**
   * Build these BuildConfigs for an event (git push, generic hook, manual
   * start), and their downstream closure after them, each once.
   */
  async submitRoots(
    roots: { key: string; reason: string; cause: BuildCause; inputs: BuildRequest["inputs"]; outputTags?: string[]; env?: BuildRequest["env"] }[],
    opts: { delivery?: Delivery; coalesce?: boolean } = {},
  ): Promise<Submitted> {
    const estate = await this.estate();
    const keys = [...new Set(roots.map((r) => r.key))];
    // The closure of every root bounds the closure of the fresh ones: one read for both.
    const { state, recent } = await this.stateFor(keys, downstreamClosure(estate.graph, keys));
    // Inputs equal to the last successful build's (same commit; bases are followed by their own
    // triggers) are skipped, with the reason; a manual start always builds, as in OpenShift.
    const unchanged: Plan["skipped"] = [];
    const fresh = [];
    for (const r of roots) {
      const commit = r.inputs.source?.commit;
      const last = commit && r.cause.type !== "Manual" && !r.outputTags ? recent.get(r.key)?.lastComplete : undefined;
      if (last && last.inputs.source?.commit === commit) unchanged.push({ key: r.key, reason: `inputs unchanged: commit ${commit!.slice(0, 12)} was built by ${last.id}` });
      else fresh.push(r);
    }
    const byKey = new Map(fresh.map((r) => [r.key, r]));
    const plan = planClosure(estate.graph, fresh.map((r) => ({ key: r.key, reason: r.reason })), state);
    plan.skipped.push(...unchanged);
    const now = this.o.clock.now().toISOString();
    return this.submitOn(estate, plan, (key, reason) => byKey.get(key)?.cause ?? { type: "ImageChange", message: reason, at: now }, {
      ...(opts.delivery ? { delivery: opts.delivery } : {}),
      inputsFor: (key) => byKey.get(key)?.inputs,
      outputTagsFor: (key) => byKey.get(key)?.outputTags,
      envFor: (key) => byKey.get(key)?.env,
      ...(opts.coalesce === false ? { noCoalesce: new Set(byKey.keys()) } : {}),
    });
  }

  /** Dry run of a push to a repository branch: the matching BuildConfigs and their closure. */
  async planPush(repository: string, branch: string): Promise<Plan> {
    return this.planGitEvent({
      kind: "git.ref",
      provider: "github",
      repository: { urls: [repository] },
      ref: `refs/heads/${branch}`,
      refType: "branch",
      refName: branch,
      after: "",
      deleted: false,
      created: false,
    });
  }

  /** Dry run of a normalised git event (signatures are not checked: nothing runs). */
  async planGitEvent(event: GitRefEvent): Promise<Plan> {
    const estate = await this.estate();
    const m = matchGitEvent(event, estate.repositories.configsFor(event.repository.urls));
    const roots = m.matched.map((x) => ({ key: keyOf(x.config), reason: x.reason }));
    const { state } = await this.stateFor([], downstreamClosure(estate.graph, roots.map((r) => r.key)));
    const plan = planClosure(estate.graph, roots, state);
    plan.skipped.push(...m.skipped.map((x) => ({ key: keyOf(x.config), reason: x.reason })));
    return plan.materialise();
  }

  /** `cascade start-build`: always a new build (no coalescing), at a commit or the tip of the ref; its downstream follows. */
  async startBuild(namespace: string, name: string, opts: { commit?: string; ref?: string; message?: string } = {}): Promise<Build> {
    const stored = await this.o.store.getBuildConfig(namespace, name);
    if (!stored) throw new NotFoundError(`buildconfig "${namespace}/${name}" not found`);
    const now = this.o.clock.now().toISOString();
    const cause: BuildCause = {
      type: "Manual",
      message: opts.message ?? "Manually triggered",
      at: now,
      ...(opts.commit ? { commit: opts.commit } : {}),
      ...(opts.ref ? { ref: opts.ref } : {}),
    };
    const key = `${namespace}/${name}`;
    const res = await this.submitRoots([{ key, reason: cause.message, cause, inputs: sourceInputs(stored.config, opts) }], { coalesce: false });
    return res.builds.find((b) => b.namespace === namespace && b.buildConfig === name)!;
  }

  /** An image now points at a digest (registry notification, poller, or Cascade's own push). */
  async imageUpdated(image: string, digest: string, source: string, delivery?: Delivery): Promise<Submitted> {
    const name = normalizeImageRef(image);
    const { estate, plan } = await this.imagePlan(name, digest);
    const now = this.o.clock.now().toISOString();
    const res = await this.submitOn(
      estate,
      plan,
      (_key, reason) => ({ type: "ImageChange", message: `${reason} (${source})`, image: `${name}@${digest}`, at: now }),
      delivery ? { delivery } : {},
    );
    if (res.builds.length || res.coalesced.length || res.skipped.length) {
      this.o.log.info({ image: name, digest, source, queued: res.builds.map((b) => b.id), coalesced: res.coalesced.length, skipped: res.skipped.length }, "image updated");
    }
    return res;
  }

  /** After a build finishes: publish its image as an update, or leave its downstream not run. */
  async afterBuild(b: Build): Promise<void> {
    // The same digest its tags held: nothing downstream has anything new to build from.
    if (b.phase === "Complete" && b.outputs?.unchanged) {
      this.o.log.info({ build: `${b.namespace}/${b.id}`, digest: b.outputs.digest }, "output unchanged; no image update");
      return;
    }
    // Not run because its inputs were unchanged: its downstream decide for themselves as they start.
    if (b.phase === "Cancelled" && b.reason === UPSTREAM_UNCHANGED) return;
    if (b.phase === "Complete" && b.outputs) {
      const repo = parseImageRef(b.outputs.image);
      for (const tag of b.outputs.tags) {
        await this.imageUpdated(`${repo.registry}/${repo.repository}:${tag}`, b.outputs.digest, `pushed by build ${b.namespace}/${b.id}`);
      }
      return;
    }
    if (isTerminal(b.phase) && b.phase !== "Complete") await this.leaveDownstreamNotRun(b);
  }

  /** Builds waiting on a build that did not complete are recorded as not run, with the reason, transitively. */
  /**
   * Why a chain build need not run, if it need not: it was queued only
   * because upstream builds of its plan would push new images (all its
   * causes are ImageChange), and each of them pushed the digest this
   * BuildConfig's last successful build already used (or did not run for
   * the same reason), while no base of its own changed. A manual start or a
   * git event always builds.
   */
  async unchangedInputs(b: Build): Promise<{ reason: string; message: string } | undefined> {
    const { store } = this.o;
    if (!b.dependsOn?.length || b.causes.length === 0 || b.causes.some((c) => c.type !== "ImageChange")) return undefined;
    const [last] = await store.listBuilds({ namespace: b.namespace, buildConfig: b.buildConfig, phases: ["Complete"], limit: 1 });
    if (!last) return undefined;
    if (b.inputs.source?.commit && b.inputs.source.commit !== last.inputs.source?.commit) return undefined;
    const used = new Map(last.inputs.bases.filter((x) => x.digest).map((x) => [normalizeImageRef(x.name), x.digest!]));
    const upstreamImages = new Set<string>();
    const notes: string[] = [];
    for (const ref of b.dependsOn) {
      const [ns = "", id = ""] = ref.split("/");
      const u = await store.getBuild(ns, id);
      if (!u) return undefined;
      if (u.phase === "Cancelled" && u.reason === UPSTREAM_UNCHANGED) {
        notes.push(`${ref} did not run (its inputs were unchanged)`);
        continue;
      }
      if (u.phase !== "Complete" || !u.outputs) return undefined;
      const repo = parseImageRef(u.outputs.image);
      let usedIt = false;
      for (const tag of u.outputs.tags) {
        const name = normalizeImageRef(`${repo.registry}/${repo.repository}:${tag}`);
        upstreamImages.add(name);
        const digest = used.get(name);
        if (digest === undefined) continue;
        if (digest !== u.outputs.digest) return undefined;
        usedIt = true;
      }
      if (!usedIt) return undefined;
      notes.push(`${ref} pushed ${u.outputs.image}@${u.outputs.digest}${u.outputs.unchanged ? " (unchanged)" : ""}, which ${last.id} already used`);
    }
    for (const c of b.causes) {
      if (!c.image) continue;
      const at = c.image.lastIndexOf("@");
      if (at < 0) continue;
      const name = normalizeImageRef(c.image.slice(0, at));
      if (upstreamImages.has(name)) continue;
      const digest = used.get(name);
      if (digest !== undefined && digest !== c.image.slice(at + 1)) return undefined; // a base of its own changed
    }
    return { reason: UPSTREAM_UNCHANGED, message: `not run: inputs unchanged since ${last.id}: ${notes.join("; ")}` };
  }

  async leaveDownstreamNotRun(failed: Build): Promise<void> {
    const ref = `${failed.namespace}/${failed.id}`;
    const waiting = (await this.o.store.listBuilds({ phases: ["New"], limit: 100_000 })).filter((b) => b.dependsOn?.includes(ref));
    for (const w of waiting) {
      try {
        const next = await this.o.store.updateBuild(
          w.namespace,
          w.id,
          {
            phase: "Cancelled",
            reason: "UpstreamFailed",
            message: `not run: upstream build ${ref} ${failed.phase}${failed.reason ? ` (${failed.reason})` : ""}`,
            completedAt: this.o.clock.now().toISOString(),
          },
          ["New"],
        );
        await this.o.builds.emit(next);
        await this.leaveDownstreamNotRun(next);
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
      }
    }
  }

  /** On start: queued builds whose upstream already failed (e.g. before a restart) are settled. */
  async settleOrphans(): Promise<void> {
    for (const b of await this.o.store.listBuilds({ phases: ["Failed", "Error", "Cancelled"], limit: 1000 })) {
      await this.leaveDownstreamNotRun(b);
    }
  }
}

/** Add a cause unless the same event is already among them. */
function mergeCauses(causes: BuildCause[], cause: BuildCause): BuildCause[] {
  const same = (a: BuildCause) => a.type === cause.type && a.image === cause.image && a.commit === cause.commit && a.ref === cause.ref && a.deliveryId === cause.deliveryId;
  return causes.some(same) ? causes : [...causes, cause];
}
