/**
 * The Store contract: behaviour every Store adapter must show, run against
 * each real backend (SQLite here, DynamoDB through dynalite on the AWS side).
 * Adapter test files call `describeStoreContract` with a factory.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkBuildConfig, type BuildConfig } from "../core/buildconfig.js";
import type { BuildRequest, Store } from "./store.js";

export const NOW = "2026-11-25T10:00:00.000Z";

export function contractConfig(name: string, runPolicy = "Serial", namespace = "ns"): BuildConfig {
  const r = checkBuildConfig({
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name, namespace },
    spec: {
      runPolicy,
      source: { git: { uri: "https://git.example.test/org/repo.git", ref: "main" } },
      strategy: { type: "Docker", dockerStrategy: {} },
      output: { to: { kind: "DockerImage", name: `registry.example.test/${namespace}/${name}:latest` } },
      triggers: [{ type: "GitHub", github: { secret: "x" } }],
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

export const contractRequest = (name: string, namespace = "ns"): BuildRequest => ({
  namespace,
  buildConfig: name,
  causes: [{ type: "Manual", message: "test", at: NOW }],
  inputs: { bases: [] },
});

export interface StoreHarness {
  store: Store;
  /** Close and open the same backing data again, as a restart does. */
  reopen(): Promise<Store>;
  dispose(): Promise<void>;
}

export function describeStoreContract(name: string, open: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    const req = contractRequest;
    const bc = contractConfig;
    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => {
      await h.dispose();
    });

    it("stores BuildConfigs, reports creation once, and lists them in order", async () => {
      expect((await store.putBuildConfig(bc("web"), NOW)).created).toBe(true);
      expect((await store.putBuildConfig(bc("web"), NOW)).created).toBe(false);
      await store.putBuildConfig(bc("api"), NOW);
      expect((await store.listBuildConfigs()).map((s) => s.config.metadata.name)).toEqual(["api", "web"]);
      expect((await store.getBuildConfig("ns", "web"))?.lastVersion).toBe(0);
      expect(await store.getBuildConfig("ns", "nope")).toBeUndefined();
    });

    it("numbers builds per BuildConfig and keeps them across a restart", async () => {
      await store.putBuildConfig(bc("web"), NOW);
      await store.putBuildConfig(bc("api"), NOW);
      const { builds } = await store.enqueueBuilds([req("web"), req("web"), req("api")], { now: NOW, logDir: "/logs" });
      expect(builds.map((b) => b.id)).toEqual(["web-1", "web-2", "api-1"]);
      expect(builds[0]!.logPath).toBe("/logs/ns/web-1.log");
      store = await h.reopen();
      expect((await store.listBuilds()).map((b) => `${b.id}:${b.phase}`)).toEqual(["api-1:New", "web-2:New", "web-1:New"]);
      expect((await store.getBuildConfig("ns", "web"))?.lastVersion).toBe(2);
      const next = await store.enqueueBuilds([req("web")], { now: NOW, logDir: "/logs" });
      expect(next.builds[0]!.id).toBe("web-3");
    });

    it("queues a plan larger than one transaction: every build once, dependencies across it, and one delivery", async () => {
      const names = Array.from({ length: 140 }, (_, i) => `app-${String(i).padStart(3, "0")}`);
      for (const n of names) await store.putBuildConfig(bc(n, "Parallel"), NOW);
      // Each BuildConfig twice, the second build waiting on the first one of the previous BuildConfig.
      const requests: BuildRequest[] = names.flatMap((n, i) => [req(n), { ...req(n), ...(i > 0 ? { after: { requests: [2 * (i - 1)] } } : {}) }]);
      const delivery = { provider: "registry", id: "big-1" };
      const { builds, duplicate } = await store.enqueueBuilds(requests, { now: NOW, logDir: "/l", delivery });
      expect(duplicate).toBe(false);
      expect(builds).toHaveLength(280);
      expect(new Set(builds.map((b) => `${b.namespace}/${b.id}`)).size).toBe(280);
      expect(builds[279]!.id).toBe("app-139-2");
      expect(builds[279]!.dependsOn).toEqual(["ns/app-138-1"]);
      expect((await store.getBuildConfig("ns", "app-139"))?.lastVersion).toBe(2);
      expect((await store.listBuilds({ phases: ["New"] })).length).toBe(280);
      const again = await store.enqueueBuilds(requests, { now: NOW, logDir: "/l", delivery });
      expect(again.duplicate).toBe(true);
      expect(again.builds.map((b) => b.id).sort()).toEqual(builds.map((b) => b.id).sort());
      expect((await store.listBuilds()).length).toBe(280);
    });

    it("finds builds by id, by namespace/id, and refuses an ambiguous id", async () => {
      await store.putBuildConfig(bc("web", "Serial", "a"), NOW);
      await store.putBuildConfig(bc("web", "Serial", "b"), NOW);
      await store.enqueueBuilds([req("web", "a")], { now: NOW, logDir: "/l" });
      expect((await store.findBuild("web-1"))?.namespace).toBe("a");
      await store.enqueueBuilds([req("web", "b")], { now: NOW, logDir: "/l" });
      expect((await store.findBuild("b/web-1"))?.namespace).toBe("b");
      await expect(store.findBuild("web-1")).rejects.toThrow(/several namespaces/);
      expect(await store.findBuild("a/web-9")).toBeUndefined();
    });

    it("requeues builds that a stopped process left Pending or Running", async () => {
      await store.putBuildConfig(bc("web", "Parallel"), NOW);
      await store.enqueueBuilds([req("web"), req("web")], { now: NOW, logDir: "/l" });
      const a = await store.claimNextBuild(NOW, 5);
      const b = await store.claimNextBuild(NOW, 5);
      await store.updateBuild("ns", b!.id, { phase: "Running", startedAt: NOW });
      expect([a?.phase, b?.id]).toEqual(["Pending", "web-2"]);
      store = await h.reopen();
      const requeued = await store.requeueInterrupted(NOW);
      expect(requeued.map((x) => x.id).sort()).toEqual(["web-1", "web-2"]);
      expect((await store.listBuilds({ phases: ["New"] })).length).toBe(2);
      expect((await store.getBuild("ns", "web-2"))?.startedAt).toBeUndefined();
    });

    it.each([
      ["Serial", ["web-1"]],
      ["SerialLatestOnly", ["web-1"]],
      ["Parallel", ["web-1", "web-2", "web-3"]],
    ])("claims by run policy %s", async (policy, expected) => {
      await store.putBuildConfig(bc("web", policy), NOW);
      await store.enqueueBuilds([req("web"), req("web"), req("web")], { now: NOW, logDir: "/l" });
      const claimed: string[] = [];
      for (let i = 0; i < 3; i++) {
        const b = await store.claimNextBuild(NOW, 10);
        if (b) claimed.push(b.id);
      }
      expect(claimed).toEqual(expected);
    });

    it("starts a build only when every build it depends on is Complete", async () => {
      await store.putBuildConfig(bc("a", "Parallel"), NOW);
      await store.putBuildConfig(bc("b", "Parallel"), NOW);
      await store.putBuildConfig(bc("c", "Parallel"), NOW);
      const { builds } = await store.enqueueBuilds(
        [req("a"), { ...req("b"), after: { requests: [0] } }, { ...req("c"), after: { requests: [0, 1], builds: ["ns/a-1"] } }],
        { now: NOW, logDir: "/l" },
      );
      expect(builds.map((b) => b.dependsOn)).toEqual([undefined, ["ns/a-1"], ["ns/a-1", "ns/b-1", "ns/a-1"]]);
      expect((await store.claimNextBuild(NOW, 10))?.id).toBe("a-1");
      expect(await store.claimNextBuild(NOW, 10)).toBeUndefined();
      await store.updateBuild("ns", "a-1", { phase: "Complete" });
      expect((await store.claimNextBuild(NOW, 10))?.id).toBe("b-1");
      expect(await store.claimNextBuild(NOW, 10)).toBeUndefined();
      await store.updateBuild("ns", "b-1", { phase: "Failed" });
      expect(await store.claimNextBuild(NOW, 10)).toBeUndefined();
    });

    it("bounds active builds by the global limit", async () => {
      await store.putBuildConfig(bc("a", "Parallel"), NOW);
      await store.enqueueBuilds([req("a"), req("a"), req("a")], { now: NOW, logDir: "/l" });
      expect(await store.claimNextBuild(NOW, 2)).toBeDefined();
      expect(await store.claimNextBuild(NOW, 2)).toBeDefined();
      expect(await store.claimNextBuild(NOW, 2)).toBeUndefined();
    });

    it("records a delivery with its builds atomically, and answers a redelivery with the same builds", async () => {
      await store.putBuildConfig(bc("web"), NOW);
      const delivery = { provider: "github", id: "d-1" };
      const first = await store.enqueueBuilds([req("web")], { now: NOW, logDir: "/l", delivery });
      const again = await store.enqueueBuilds([req("web")], { now: NOW, logDir: "/l", delivery });
      expect(first.duplicate).toBe(false);
      expect(again).toEqual({ builds: first.builds, duplicate: true });
      expect((await store.listBuilds()).length).toBe(1);
      expect(await store.deliveryBuilds(delivery)).toEqual(first.builds);
      expect(await store.deliveryBuilds({ provider: "github", id: "never" })).toBeUndefined();
      expect(await store.recordDelivery({ provider: "github", id: "d-2" }, NOW)).toEqual({ duplicate: false, buildIds: [] });
      expect(await store.recordDelivery({ provider: "github", id: "d-2" }, NOW)).toEqual({ duplicate: true, buildIds: [] });
    });

    it("stores nothing when one request of a batch names an unknown BuildConfig", async () => {
      await store.putBuildConfig(bc("web"), NOW);
      await expect(
        store.enqueueBuilds([req("web"), req("missing")], { now: NOW, logDir: "/l", delivery: { provider: "github", id: "x" } }),
      ).rejects.toThrow(/buildconfig "ns\/missing" not found/);
      expect(await store.listBuilds()).toEqual([]);
      expect((await store.getBuildConfig("ns", "web"))?.lastVersion).toBe(0);
      expect((await store.recordDelivery({ provider: "github", id: "x" }, NOW)).duplicate).toBe(false);
    });

    it("refuses a conditional update from the wrong phase", async () => {
      await store.putBuildConfig(bc("web"), NOW);
      await store.enqueueBuilds([req("web")], { now: NOW, logDir: "/l" });
      await store.updateBuild("ns", "web-1", { phase: "Complete" });
      await expect(store.updateBuild("ns", "web-1", { phase: "Cancelled" }, ["New", "Pending"])).rejects.toThrow(
        /is Complete, not New or Pending/,
      );
      await expect(store.updateBuild("ns", "web-9", { phase: "Complete" })).rejects.toThrow(/build "ns\/web-9" not found/);
    });

    it("changes the planning revision when a BuildConfig is put, and keeps it otherwise", async () => {
      const r0 = await store.planningRevision();
      await store.putBuildConfig(bc("web"), NOW);
      const r1 = await store.planningRevision();
      expect(r1).not.toBe(r0);
      await store.enqueueBuilds([req("web")], { now: NOW, logDir: "/l" });
      await store.updateBuild("ns", "web-1", { phase: "Running", startedAt: NOW });
      await store.updateBuild("ns", "web-1", { phase: "Complete", completedAt: NOW });
      expect(await store.planningRevision()).toBe(r1);
      await store.putBuildConfig(bc("web"), NOW); // the same config again still counts as a change
      const r2 = await store.planningRevision();
      expect(r2).not.toBe(r1);
      store = await h.reopen();
      expect(await store.planningRevision()).toBe(r2);
    });

    it("records the bases of a BuildConfig's newest build that has any, and changes the revision only when they differ", async () => {
      await store.putBuildConfig(bc("web", "Parallel"), NOW);
      expect((await store.getBuildConfig("ns", "web"))?.recordedBases).toBeUndefined();
      await store.enqueueBuilds([req("web"), req("web"), req("web")], { now: NOW, logDir: "/l" });
      const bases = (...names: string[]) => ({ bases: names.map((name, i) => ({ name, digest: `sha256:${String(i).repeat(64)}` })) });
      const r0 = await store.planningRevision();
      await store.updateBuild("ns", "web-2", { phase: "Complete", inputs: bases("reg.test/base:1", "node:20") });
      const r1 = await store.planningRevision();
      expect(r1).not.toBe(r0);
      expect((await store.getBuildConfig("ns", "web"))?.recordedBases).toEqual(["reg.test/base:1", "node:20"]);
      // An older build finishing later does not replace what a newer one recorded.
      await store.updateBuild("ns", "web-1", { phase: "Complete", inputs: bases("reg.test/old:1") });
      expect((await store.getBuildConfig("ns", "web"))?.recordedBases).toEqual(["reg.test/base:1", "node:20"]);
      expect(await store.planningRevision()).toBe(r1);
      // The same names from a newer build (other digests) change nothing the graph uses.
      await store.updateBuild("ns", "web-3", { phase: "Failed", inputs: { bases: [{ name: "reg.test/base:1", digest: `sha256:${"9".repeat(64)}` }, { name: "node:20" }] } });
      expect(await store.planningRevision()).toBe(r1);
      // A build without bases records nothing.
      await store.enqueueBuilds([req("web")], { now: NOW, logDir: "/l" });
      await store.updateBuild("ns", "web-4", { phase: "Failed", inputs: { bases: [] } });
      expect((await store.listBuildConfigs())[0]?.recordedBases).toEqual(["reg.test/base:1", "node:20"]);
      expect(await store.planningRevision()).toBe(r1);
      await store.enqueueBuilds([req("web")], { now: NOW, logDir: "/l" });
      await store.updateBuild("ns", "web-5", { phase: "Complete", inputs: bases("reg.test/base:2") });
      expect((await store.listBuildConfigs())[0]?.recordedBases).toEqual(["reg.test/base:2"]);
      expect(await store.planningRevision()).not.toBe(r1);
      store = await h.reopen();
      expect((await store.getBuildConfig("ns", "web"))?.recordedBases).toEqual(["reg.test/base:2"]);
    });

    it("gives each named BuildConfig's newest queued build, and its newest builds with its last Complete one", async () => {
      await store.putBuildConfig(bc("web", "Parallel"), NOW);
      await store.putBuildConfig(bc("api", "Parallel"), NOW);
      await store.putBuildConfig(bc("web", "Parallel", "other"), NOW);
      await store.enqueueBuilds([req("web"), req("web"), req("web"), req("web"), req("api"), req("web", "other")], { now: NOW, logDir: "/l" });
      await store.updateBuild("ns", "web-1", { phase: "Complete" });
      await store.updateBuild("ns", "web-3", { phase: "Failed" });
      await store.updateBuild("ns", "web-4", { phase: "Running" });
      await store.updateBuild("ns", "api-1", { phase: "Complete" });
      const refs = [
        { namespace: "ns", name: "web" },
        { namespace: "ns", name: "api" },
        { namespace: "other", name: "web" },
        { namespace: "ns", name: "none" },
      ];
      expect(await store.queuedBuildIds(refs)).toEqual(new Map([["ns/web", "web-2"], ["other/web", "web-1"]]));
      // As many refs as a large closure gives (an adapter may read them another way): the same answer.
      const many = [...Array.from({ length: 100 }, (_, i) => ({ namespace: "ns", name: `absent-${i}` })), ...refs];
      expect(await store.queuedBuildIds(many)).toEqual(new Map([["ns/web", "web-2"], ["other/web", "web-1"]]));
      const recent = await store.recentBuilds(refs, 2);
      expect([...recent.keys()].sort()).toEqual(["ns/api", "ns/none", "ns/web", "other/web"]);
      expect(recent.get("ns/web")!.recent.map((b) => `${b.id}:${b.phase}`)).toEqual(["web-4:Running", "web-3:Failed"]);
      expect(recent.get("ns/web")!.lastComplete?.id).toBe("web-1");
      expect(recent.get("ns/api")!.recent.map((b) => b.id)).toEqual(["api-1"]);
      expect(recent.get("ns/api")!.lastComplete?.id).toBe("api-1");
      expect(recent.get("other/web")).toEqual({ recent: [expect.objectContaining({ id: "web-1", namespace: "other", phase: "New" })] });
      expect(recent.get("ns/none")).toEqual({ recent: [] });
      expect(await store.queuedBuildIds([])).toEqual(new Map());
    });

    it("keeps an outbox per subscriber with retries and dead letters", async () => {
      const s1 = await store.addSubscriber({ url: "http://127.0.0.1:1/a", secret: "k", mode: "binary" }, NOW);
      await store.addSubscriber({ url: "http://127.0.0.1:1/b", secret: "k", mode: "structured" }, NOW);
      expect(await store.enqueueEvent("e1", "{}", NOW)).toBe(2);
      expect(await store.enqueueEvent("e1", "{}", NOW)).toBe(2); // same event id: no second copy
      const due = await store.dueDeliveries(NOW, 10);
      expect(due.length).toBe(2);
      const toA = due.find((d) => d.subscriberId === s1.id)!;
      const toB = due.find((d) => d.subscriberId !== s1.id)!;
      await store.markDeliveryFailed(toA.seq, "HTTP 503", "2026-11-25T10:00:05.000Z");
      await store.markDelivered(toB.seq, NOW);
      expect((await store.dueDeliveries(NOW, 10)).length).toBe(0);
      const later = await store.dueDeliveries("2026-11-25T10:00:05.000Z", 10);
      expect(later.map((d) => [d.subscriberId, d.attempts])).toEqual([[s1.id, 1]]);
      await store.markDeliveryFailed(later[0]!.seq, "HTTP 503", undefined);
      expect((await store.dueDeliveries("2099-01-01T00:00:00.000Z", 10)).length).toBe(0);
      expect(await store.deliveredEvents()).toBe(1);
    });
  });
}
