/** The SQLite store on a real database file: the Store contract, plus WAL mode and migrations. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeStoreContract } from "../../ports/store.contract.js";
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
    expect(store.schemaVersion).toBe(2);
    await store.close();
    const again = new SqliteStore(file);
    expect(again.schemaVersion).toBe(2);
    await again.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
