/** The local SecretStore on real files: the contract, plus encryption at rest and file modes. */
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeSecretStoreContract } from "../../ports/secret-store.contract.js";
import { FileSecretStore } from "./file-secret-store.js";

describeSecretStoreContract("files", async () => {
  const home = mkdtempSync(join(tmpdir(), "cascade-secrets-"));
  return { store: new FileSecretStore(home), dispose: async () => rmSync(home, { recursive: true, force: true }) };
});

describe("FileSecretStore", () => {
  const NOW = "2026-12-01T10:00:00.000Z";

  it("keeps values encrypted, in 0600 files under 0700 folders", async () => {
    const home = mkdtempSync(join(tmpdir(), "cascade-secrets-"));
    const store = new FileSecretStore(home);
    await store.put({ kind: "Secret", namespace: "team", name: "token", data: { password: Buffer.from("plain-text-never-on-disk") } }, NOW);
    const file = join(home, "secrets", "Secret", "team", "token.json");
    expect(readFileSync(file, "utf8")).not.toContain("plain-text-never-on-disk");
    expect(readFileSync(file, "utf8")).not.toContain(Buffer.from("plain-text-never-on-disk").toString("base64"));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "secrets", "key")).mode & 0o777).toBe(0o600);
    for (const d of [join(home, "secrets"), join(home, "secrets", "Secret"), join(home, "secrets", "Secret", "team")]) expect(statSync(d).mode & 0o777).toBe(0o700);
    // A second store on the same home (another process) reads it with the same key.
    const again = await new FileSecretStore(home).get({ kind: "Secret", namespace: "team", name: "token" });
    expect(again?.data["password"]?.toString()).toBe("plain-text-never-on-disk");
    rmSync(home, { recursive: true, force: true });
  });

  it("does not open a file moved to another name, or with another home's key", async () => {
    const home = mkdtempSync(join(tmpdir(), "cascade-secrets-"));
    const store = new FileSecretStore(home);
    await store.put({ kind: "Secret", namespace: "team", name: "a", data: { k: Buffer.from("v") } }, NOW);
    const dir = join(home, "secrets", "Secret", "team");
    renameSync(join(dir, "a.json"), join(dir, "b.json"));
    await expect(store.get({ kind: "Secret", namespace: "team", name: "b" })).rejects.toThrow(/team\/b does not decrypt/);

    const other = mkdtempSync(join(tmpdir(), "cascade-secrets-"));
    const otherStore = new FileSecretStore(other);
    await otherStore.put({ kind: "Secret", namespace: "team", name: "c", data: { k: Buffer.from("v") } }, NOW);
    renameSync(join(other, "secrets", "Secret", "team", "c.json"), join(dir, "c.json"));
    await expect(store.get({ kind: "Secret", namespace: "team", name: "c" })).rejects.toThrow(/does not decrypt with this CASCADE_HOME's key/);
    expect(readdirSync(dir).sort()).toEqual(["b.json", "c.json"]);
    rmSync(home, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  });
});
