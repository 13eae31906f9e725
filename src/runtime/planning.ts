/**
 * Planning at run time: load the graph and state from the store, ask the pure
 * planner, and turn its plan into queued builds (with their dependencies) or
 * causes coalesced into builds already queued. Also follows through after a
 * build: its pushed image is an image update, and its failure leaves its
 * downstream builds not run.
 */
import type { Logger } from "pino";
import { isTerminal, type Build, type BuildCause } from "../core/build.js";
import type { BuildConfig, ObjectReference } from "../core/buildconfig.js";
import { ConflictError, NotFoundError } from "../core/errors.js";
import type { GitRefEvent } from "../core/events-in.js";
import { graphNode } from "../core/graph-nodes.js";
import { matchGitEvent } from "../core/match.js";
import { normalizeImageRef, parseImageRef } from "../core/image-ref.js";
import { buildGraph, planClosure, planImageUpdate, type ImageGraph, type Plan, type PlanState, type Root } from "../core/planner.js";
import type { Clock } from "../ports/clock.js";
import type { BuildRequest, Delivery, Store } from "../ports/store.js";
import { sourceInputs, type Builds } from "./builds.js";

export interface PlanningOptions {
  store: Store;
  builds: Builds;
  clock: Clock;
  log: Logger;
  /** How ImageStreamTag and DockerImage references become images; default the builds' resolver. */
  resolve?: (ref: ObjectReference, namespace: string) => string;
}

export interface Submitted {
  builds: Build[];
  coalesced: { build: string; buildConfig: string }[];
  skipped: { buildConfig: string; reason: string }[];
  duplicate: boolean;
}

/** The reason recorded on a chain build that did not run because its upstreams changed nothing it uses. */
export const UPSTREAM_UNCHANGED = "UpstreamUnchanged";

export class Planning {
  private readonly resolve: (ref: ObjectReference, namespace: string) => string;

  constructor(private readonly o: PlanningOptions) {
    this.resolve = o.resolve ?? ((ref, ns) => o.builds.resolveRef(ref, ns));
  }

  /** The image dependency graph of every stored BuildConfig, with the bases their last builds recorded. */
  async graph(configs?: BuildConfig[]): Promise<ImageGraph> {
    const all = configs ?? (await this.o.store.listBuildConfigs()).map((s) => s.config);
    const nodes = [];
    for (const c of all) {
      const recent = await this.o.store.listBuilds({ namespace: c.metadata.namespace ?? "default", buildConfig: c.metadata.name, limit: 10 });
      const withBases = recent.find((b) => b.inputs.bases.length > 0);
      nodes.push(graphNode(c, { resolve: this.resolve, recordedBases: withBases?.inputs.bases.map((b) => b.name) ?? [] }));
    }
    return buildGraph(nodes);
  }

  /** Last digests from each BuildConfig's last successful build; queued builds to coalesce into. */
  async state(): Promise<PlanState> {
    const last = new Map<string, Map<string, string>>();
    const queued = new Map<string, string>();
    const producers = new Map<string, string>(); // `${image}@${digest}` -> ns/id of the build that pushed it
    const waitsOn = new Map<string, Set<string>>(); // BuildConfig key -> builds its builds were ordered after
    const all = await this.o.store.listBuilds({ limit: 100_000 });
    for (const b of all) {
      const key = `${b.namespace}/${b.buildConfig}`;
      if (b.phase === "Complete" && b.outputs) {
        const repo = parseImageRef(b.outputs.image);
        for (const tag of b.outputs.tags) producers.set(`${repo.registry}/${repo.repository}:${tag}@${b.outputs.digest}`, `${b.namespace}/${b.id}`);
      }
      for (const d of b.dependsOn ?? []) {
        if (!waitsOn.has(key)) waitsOn.set(key, new Set());
        waitsOn.get(key)!.add(d);
      }
      if (b.phase === "Complete" && !last.has(key)) {
        last.set(key, new Map(b.inputs.bases.filter((x) => x.digest).map((x) => [normalizeImageRef(x.name), x.digest!])));
      }
      if (b.phase === "New" && !queued.has(key)) queued.set(key, b.id);
    }
    return {
      lastDigest: (k, image) => last.get(k)?.get(image),
      queuedBuild: (k) => queued.get(k),
      alreadyPlanned: (k, image, digest) => {
        const producer = producers.get(`${image}@${digest}`);
        return producer && waitsOn.get(k)?.has(producer) ? `already planned after ${producer}, which pushed ${image}@${digest}` : undefined;
      },
    };
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

  async planImage(image: string, digest: string): Promise<Plan> {
    return planImageUpdate(await this.graph(), { image: normalizeImageRef(image), digest }, await this.state()).materialise();
  }

  async planRoots(roots: Root[]): Promise<Plan> {
    return planClosure(await this.graph(), roots, await this.state());
  }

  /**
   * Queue a plan: new builds wait for their upstreams in the plan; planned
   * BuildConfigs with a queued build get the cause added to it instead.
   */
  async submit(
    plan: Plan,
    causeFor: (key: string, reason: string) => BuildCause,
    opts: {
      delivery?: Delivery;
      inputsFor?: (key: string, c: BuildConfig) => BuildRequest["inputs"] | undefined;
      outputTagsFor?: (key: string) => string[] | undefined;
      envFor?: (key: string) => BuildRequest["env"] | undefined;
      noCoalesce?: Set<string>;
    } = {},
  ): Promise<Submitted> {
    const { store } = this.o;
    // A redelivery changes nothing: not even the causes of queued builds.
    if (opts.delivery) {
      const previous = await store.deliveryBuilds(opts.delivery);
      if (previous) return { builds: previous, coalesced: [], skipped: [], duplicate: true };
    }
    const requests: BuildRequest[] = [];
    const index = new Map<string, number>();
    const existing = new Map<string, string>(); // key -> ns/id of a coalesced build
    const coalesced: Submitted["coalesced"] = [];
    const waitOnNew: { ns: string; id: string; requests: number[] }[] = [];
    for (const p of plan.waves.flat()) {
      const [ns, name] = p.key.split("/") as [string, string];
      const cause = causeFor(p.key, p.reason);
      const after = {
        requests: p.dependsOn.filter((d) => index.has(d)).map((d) => index.get(d)!),
        builds: p.dependsOn.filter((d) => existing.has(d)).map((d) => existing.get(d)!),
      };
      const stored = await store.getBuildConfig(ns, name);
      if (!stored) continue;
      const inputs = opts.inputsFor?.(p.key, stored.config);
      const outputTags = opts.outputTagsFor?.(p.key);
      const env = opts.envFor?.(p.key);
      // A release (tag) build never merges into a branch build: it pushes other tags.
      if (p.coalesceInto && !opts.noCoalesce?.has(p.key) && !outputTags && !env?.length) {
        try {
          const queued = await store.getBuild(ns, p.coalesceInto);
          if (queued) {
            const causes = mergeCauses(queued.causes, cause);
            const dependsOn = [...new Set([...(queued.dependsOn ?? []), ...after.builds])];
            // A newer commit replaces the queued one: the build takes the latest of the events it coalesces.
            await store.updateBuild(
              ns,
              p.coalesceInto,
              { causes, ...(dependsOn.length ? { dependsOn } : {}), ...(inputs?.source?.commit ? { inputs } : {}) },
              ["New"],
            );
            existing.set(p.key, `${ns}/${p.coalesceInto}`);
            coalesced.push({ build: `${ns}/${p.coalesceInto}`, buildConfig: p.key });
            // It must also wait for the upstream builds this plan queues: their ids exist once they are queued.
            if (after.requests.length) waitOnNew.push({ ns, id: p.coalesceInto, requests: after.requests });
            continue;
          }
        } catch (e) {
          if (!(e instanceof ConflictError)) throw e;
          // It started meanwhile: queue a new build below.
        }
      }
      index.set(p.key, requests.length);
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
    // Inputs equal to the last successful build's (same commit; bases are followed by their own
    // triggers) are skipped, with the reason; a manual start always builds, as in OpenShift.
    const unchanged: Plan["skipped"] = [];
    const fresh = [];
    for (const r of roots) {
      const commit = r.inputs.source?.commit;
      const [ns, name] = r.key.split("/") as [string, string];
      const last = commit && r.cause.type !== "Manual" && !r.outputTags
        ? (await this.o.store.listBuilds({ namespace: ns, buildConfig: name, phases: ["Complete"], limit: 1 }))[0]
        : undefined;
      if (last && last.inputs.source?.commit === commit) unchanged.push({ key: r.key, reason: `inputs unchanged: commit ${commit!.slice(0, 12)} was built by ${last.id}` });
      else fresh.push(r);
    }
    const byKey = new Map(fresh.map((r) => [r.key, r]));
    const plan = await this.planRoots(fresh.map((r) => ({ key: r.key, reason: r.reason })));
    plan.skipped.push(...unchanged);
    const now = this.o.clock.now().toISOString();
    return this.submit(
      plan,
      (key, reason) => byKey.get(key)?.cause ?? { type: "ImageChange", message: reason, at: now },
      {
        ...(opts.delivery ? { delivery: opts.delivery } : {}),
        inputsFor: (key) => byKey.get(key)?.inputs,
        outputTagsFor: (key) => byKey.get(key)?.outputTags,
        envFor: (key) => byKey.get(key)?.env,
        ...(opts.coalesce === false ? { noCoalesce: new Set(byKey.keys()) } : {}),
      },
    );
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
    const configs = (await this.o.store.listBuildConfigs()).map((s) => s.config);
    const m = matchGitEvent(event, configs);
    const plan = planClosure(
      await this.graph(configs),
      m.matched.map((x) => ({ key: `${x.config.metadata.namespace ?? "default"}/${x.config.metadata.name}`, reason: x.reason })),
      await this.state(),
    );
    plan.skipped.push(...m.skipped.map((x) => ({ key: `${x.config.metadata.namespace ?? "default"}/${x.config.metadata.name}`, reason: x.reason })));
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
    const plan = await this.planImage(name, digest);
    const now = this.o.clock.now().toISOString();
    const res = await this.submit(
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
