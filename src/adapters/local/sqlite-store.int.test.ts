/** The SQLite store on a real database file: the Store contract, plus WAL mode and migrations. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { contractConfig, contractRequest, describeStoreContract, NOW } from "../../ports/store.contract.js";
import { SqliteStore } from "./sqlite-store.js";

describeStoreContract("SQLite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cascade-store-"));
  const file = join(dir, "cascade.db");
  let store = new SqliteStore(file);
  return {
    store,
    async reopen() {
      await store.close();
      store = new SqliteStore(file);
      return store;
    },
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe("SqliteStore", () => {
  it("runs in WAL mode with every migration applied, and migrates once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cascade-store-"));
    const file = join(dir, "cascade.db");
    const store = new SqliteStore(file);
    expect(store.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(store.schemaVersion).toBe(3);
    await store.close();
    const again = new SqliteStore(file);
    expect(again.schemaVersion).toBe(3);
    await again.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("migrates a version 2 database: each BuildConfig's recorded bases come from its newest build that has bases", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cascade-store-"));
    const file = join(dir, "cascade.db");
    const store = new SqliteStore(file);
    for (const name of ["web", "api", "idle"]) await store.putBuildConfig(contractConfig(name, "Parallel"), NOW);
    await store.enqueueBuilds([contractRequest("web"), contractRequest("web"), contractRequest("web"), contractRequest("api")], { now: NOW, logDir: "/l" });
    const bases = (name: string) => ({ bases: [{ name, digest: `sha256:${"1".repeat(64)}` }] });
    await store.updateBuild("ns", "web-1", { phase: "Complete", inputs: bases("reg.test/a:1") });
    await store.updateBuild("ns", "web-2", { phase: "Complete", inputs: bases("reg.test/b:1") });
    await store.updateBuild("ns", "web-3", { phase: "Failed", inputs: { bases: [] } });
    await store.updateBuild("ns", "api-1", { phase: "Complete", inputs: bases("node:20") });
    // Back to version 2, as a database written before migration 3 would be.
    store.db.exec("DROP TABLE revisions; ALTER TABLE buildconfigs DROP COLUMN recorded_bases; ALTER TABLE buildconfigs DROP COLUMN recorded_number");
    store.db.pragma("user_version = 2");
    await store.close();
    const migrated = new SqliteStore(file);
    expect(migrated.schemaVersion).toBe(3);
    expect((await migrated.listBuildConfigs()).map((s) => [s.config.metadata.name, s.recordedBases])).toEqual([
      ["api", ["node:20"]],
      ["idle", undefined],
      ["web", ["reg.test/b:1"]],
    ]);
    expect(await migrated.planningRevision()).toBe(1);
    await migrated.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
