import { describe, expect, it } from "vitest";
import { BuilderJob } from "../builder/job.js";
import type { SecretId, SecretStore, StoredSecret } from "../ports/secret-store.js";
import { resolveJobSecrets } from "./job-secrets.js";

/** An in-memory SecretStore: the port's behaviour is held to its contract by the real adapters. */
function memoryStore(entries: (SecretId & { data: Record<string, string> })[]): SecretStore {
  const key = (id: SecretId) => `${id.kind}/${id.namespace}/${id.name}`;
  const map = new Map<string, StoredSecret>(
    entries.map((e) => [key(e), { ...e, data: Object.fromEntries(Object.entries(e.data).map(([k, v]) => [k, Buffer.from(v)])), createdAt: "t", updatedAt: "t" }]),
  );
  return {
    get: async (id) => map.get(key(id)),
    list: async () => [],
    put: async () => ({ created: true }),
    delete: async () => false,
    howToCreate: (id) => `make ${id.kind} ${id.name} in ${id.namespace}`,
  };
}

const job = (strategy: Record<string, unknown>, source: Record<string, unknown> = {}) =>
  BuilderJob.parse({ buildName: "web-1", namespace: "team", buildConfig: "web", source: { uri: "https://git.example.test/r.git", ...source }, strategy, output: { images: ["r.example.test/team/web:latest"] } });
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("resolveJobSecrets", () => {
  const store = memoryStore([
    { kind: "Secret", namespace: "team", name: "git", data: { username: "bot", password: "pw" } },
    { kind: "Secret", namespace: "team", name: "npm", data: { token: "t0k3n" } },
    { kind: "Secret", namespace: "team", name: "multi", data: { a: "1", b: "2" } },
    { kind: "ConfigMap", namespace: "team", name: "conf", data: { "x.properties": "k=v" } },
    { kind: "Secret", namespace: "other", name: "npm", data: { token: "not-yours" } },
  ]);

  it("fills the source secret, volumes and build secrets from the build's namespace, leaving the input alone", async () => {
    const j = job(
      {
        type: "Docker",
        volumes: [{ name: "c", kind: "ConfigMap", source: "conf", destinationPaths: ["/etc/c"] }],
        buildSecrets: [{ id: "npm", secret: "npm" }, { id: "b", secret: "multi", key: "b" }],
      },
      { secret: { name: "git" } },
    );
    const out = await resolveJobSecrets(j, store);
    expect(out.source.secret?.data).toEqual({ username: b64("bot"), password: b64("pw") });
    expect(out.strategy).toMatchObject({ volumes: [{ data: { "x.properties": b64("k=v") } }], buildSecrets: [{ id: "npm", value: b64("t0k3n") }, { id: "b", value: b64("2") }] });
    expect(j.source.secret?.data).toBeUndefined();
  });

  it.each([
    ["a missing secret", { type: "Docker", buildSecrets: [{ id: "x", secret: "nope" }] }, /secret "team\/nope" \(spec\.strategy\.dockerStrategy\.buildSecrets\[x\]\) not found; make Secret nope in team$/],
    ["an unnamed key of a secret with several", { type: "Docker", buildSecrets: [{ id: "m", secret: "multi" }] }, /buildSecrets\[m\]: secret "team\/multi" has 2 keys \(a, b\); name one with key/],
    ["a missing key", { type: "Docker", buildSecrets: [{ id: "m", secret: "multi", key: "c" }] }, /secret "team\/multi" has no key "c" \(it has a, b\)/],
    ["a missing ConfigMap", { type: "Source", from: "b/s2i", volumes: [{ name: "v", kind: "ConfigMap", source: "gone", destinationPaths: ["/v"] }] }, /configmap "team\/gone" \(spec\.strategy\.sourceStrategy\.volumes\[v\]\) not found/],
    ["a push secret without a docker config", { type: "Custom", from: "b/c", buildJson: "{}", pushSecret: { name: "npm" } }, /spec\.output\.pushSecret: secret "team\/npm" has no \.dockerconfigjson or \.dockercfg key/],
  ])("fails with MissingSecret for %s, naming it and the field", async (_n, strategy, message) => {
    const err = await resolveJobSecrets(job(strategy), store).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("MissingSecret");
    expect((err as Error).message).toMatch(message);
  });
});
