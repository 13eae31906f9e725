/**
 * The SecretStore contract: behaviour every SecretStore adapter must show
 * (the encrypted files locally, Secrets Manager on AWS). Adapter test files
 * call `describeSecretStoreContract` with a factory.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SecretStore } from "./secret-store.js";

const T0 = "2026-12-01T10:00:00.000Z";
const T1 = "2026-12-01T11:00:00.000Z";

export function describeSecretStoreContract(name: string, make: () => Promise<{ store: SecretStore; dispose(): Promise<void> }>) {
  describe(`SecretStore contract: ${name}`, () => {
    let h: { store: SecretStore; dispose(): Promise<void> };
    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.dispose();
    });

    it("stores bytes exactly, and reads them back by kind, namespace and name", async () => {
      const bytes = Buffer.from([0, 1, 2, 255, 10, 13]);
      const r = await h.store.put({ kind: "Secret", namespace: "team", name: "git", type: "kubernetes.io/basic-auth", data: { username: Buffer.from("bot"), bin: bytes } }, T0);
      expect(r.created).toBe(true);
      const got = await h.store.get({ kind: "Secret", namespace: "team", name: "git" });
      expect(got?.type).toBe("kubernetes.io/basic-auth");
      expect(got?.data["username"]?.toString()).toBe("bot");
      expect(got?.data["bin"]?.equals(bytes)).toBe(true);
      expect(got?.createdAt).toBe(T0);
      expect(await h.store.get({ kind: "Secret", namespace: "other", name: "git" })).toBeUndefined();
      expect(await h.store.get({ kind: "ConfigMap", namespace: "team", name: "git" })).toBeUndefined();
    });

    it("replaces a secret, keeping its creation time", async () => {
      await h.store.put({ kind: "Secret", namespace: "team", name: "s", data: { a: Buffer.from("1") } }, T0);
      const r = await h.store.put({ kind: "Secret", namespace: "team", name: "s", data: { b: Buffer.from("2") } }, T1);
      expect(r.created).toBe(false);
      const got = await h.store.get({ kind: "Secret", namespace: "team", name: "s" });
      expect(Object.keys(got!.data)).toEqual(["b"]);
      expect(got?.createdAt).toBe(T0);
      expect(got?.updatedAt).toBe(T1);
    });

    it("lists names and keys, never values, filtered by kind and namespace", async () => {
      await h.store.put({ kind: "Secret", namespace: "a", name: "one", data: { z: Buffer.from("value-one"), k: Buffer.from("x") } }, T0);
      await h.store.put({ kind: "Secret", namespace: "b", name: "two", data: { k: Buffer.from("value-two") } }, T0);
      await h.store.put({ kind: "ConfigMap", namespace: "a", name: "conf", data: { "settings.xml": Buffer.from("<s/>") } }, T0);
      const all = await h.store.list();
      expect(all.map((s) => `${s.kind}/${s.namespace}/${s.name}`).sort()).toEqual(["ConfigMap/a/conf", "Secret/a/one", "Secret/b/two"]);
      expect(all.find((s) => s.name === "one")?.keys).toEqual(["k", "z"]);
      expect(JSON.stringify(all)).not.toContain("value-");
      expect((await h.store.list({ kind: "Secret", namespace: "a" })).map((s) => s.name)).toEqual(["one"]);
      expect((await h.store.list({ kind: "ConfigMap" })).map((s) => s.name)).toEqual(["conf"]);
    });

    it("deletes, and says whether there was one", async () => {
      await h.store.put({ kind: "Secret", namespace: "a", name: "gone", data: { k: Buffer.from("v") } }, T0);
      expect(await h.store.delete({ kind: "Secret", namespace: "a", name: "gone" })).toBe(true);
      expect(await h.store.delete({ kind: "Secret", namespace: "a", name: "gone" })).toBe(false);
      expect(await h.store.get({ kind: "Secret", namespace: "a", name: "gone" })).toBeUndefined();
    });

    it("refuses invalid names, naming the value", async () => {
      await expect(h.store.put({ kind: "Secret", namespace: "a", name: "Bad_Name", data: {} }, T0)).rejects.toThrow(/"Bad_Name" is not a valid name/);
      await expect(h.store.get({ kind: "Secret", namespace: "../etc", name: "x" })).rejects.toThrow(/not a valid namespace/);
    });
  });
}
