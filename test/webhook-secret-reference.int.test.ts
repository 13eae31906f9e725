/**
 * Webhook triggers that keep their secret in a Secret (`secretReference`,
 * key `WebHookSecretKey`, as in OpenShift) rather than inline: the GitHub
 * hook verifies the signature with the Secret's value, and the generic and
 * OpenShift-style URLs compare it in constant time. Real SQLite (in memory)
 * and the real file secret store; the tests stop at the queue.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileSecretStore } from "../src/adapters/local/file-secret-store.js";
import { hmacSha256Hex } from "../src/core/webhook-signature.js";
import { route, type ApiDeps } from "../src/runtime/api.js";
import { applyConfigs } from "../src/runtime/configs.js";
import { queueRuntime, type QueueRuntime } from "./support/queue-runtime.js";

const octokit = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: any[] }[];
const push = () => structuredClone(octokit.find((e) => e.name === "push")!.examples.find((e) => e.ref === "refs/heads/master" && !e.deleted));
const HOOK_SECRET = "from-a-secret-5d1f";

describe("webhook secretReference", () => {
  let rt: QueueRuntime;
  let deps: ApiDeps;
  let home: string;

  beforeEach(async () => {
    rt = queueRuntime();
    home = mkdtempSync(join(tmpdir(), "cascade-hookref-"));
    const secrets = new FileSecretStore(home);
    await secrets.put({ kind: "Secret", namespace: "hooks", name: "hook-secret", data: { WebHookSecretKey: Buffer.from(HOOK_SECRET) } }, "2026-12-01T10:00:00Z");
    deps = { ...rt.deps, secrets };
    await applyConfigs(deps, [
      {
        apiVersion: "build.openshift.io/v1",
        kind: "BuildConfig",
        metadata: { name: "web", namespace: "hooks" },
        spec: {
          source: { git: { uri: "https://github.com/Codertocat/Hello-World.git", ref: "master" } },
          strategy: { type: "Docker" },
          output: { to: { kind: "DockerImage", name: "registry.example.test/hooks/web:latest" } },
          triggers: [
            { type: "GitHub", github: { secretReference: { name: "hook-secret" } } },
            { type: "Generic", generic: { secretReference: { name: "hook-secret" } } },
          ],
        },
      },
      {
        apiVersion: "build.openshift.io/v1",
        kind: "BuildConfig",
        metadata: { name: "dangling", namespace: "hooks" },
        spec: {
          source: { git: { uri: "https://github.com/Codertocat/Hello-World.git", ref: "master" } },
          strategy: { type: "Docker" },
          output: { to: { kind: "DockerImage", name: "registry.example.test/hooks/dangling:latest" } },
          triggers: [{ type: "Generic", generic: { secretReference: { name: "no-such-secret" } } }],
        },
      },
    ]);
  });
  afterEach(async () => {
    await rt.store.close();
    rmSync(home, { recursive: true, force: true });
  });

  const post = (path: string, body: string, headers: Record<string, string>) =>
    route(deps, { method: "POST", path, query: new URLSearchParams(), headers: { "content-type": "application/json", ...headers }, body: Buffer.from(body) }) as Promise<{ status: number; body: any }>;

  it("verifies a GitHub signature with the referenced Secret's WebHookSecretKey", async () => {
    const body = JSON.stringify(push());
    const ok = await post("/hooks/github", body, { "x-github-event": "push", "x-github-delivery": "ref-1", "x-hub-signature-256": `sha256=${hmacSha256Hex(HOOK_SECRET, body)}` });
    expect(ok.status).toBe(202);
    expect(ok.body.builds.map((b: any) => b.buildConfig)).toEqual(["web"]);
    const bad = await post("/hooks/github", body, { "x-github-event": "push", "x-github-delivery": "ref-2", "x-hub-signature-256": `sha256=${hmacSha256Hex("guess", body)}` });
    expect(bad.status).toBe(401);
    expect((await rt.store.listBuilds()).length).toBe(1);
  });

  it("accepts the referenced secret on the generic and OpenShift URLs, and nothing for a dangling reference", async () => {
    const generic = await post(`/hooks/generic/hooks/web`, "", { authorization: `Bearer ${HOOK_SECRET}` });
    expect(generic.status).toBe(202);
    const openshift = await post(`/apis/build.openshift.io/v1/namespaces/hooks/buildconfigs/web/webhooks/${HOOK_SECRET}/generic`, "", {});
    expect(openshift.status).toBe(202);
    // It joined the build the first one queued, and says so.
    expect(openshift.body.message).toBe("0 build(s) queued: joined queued build hooks/web-1");
    const wrong = await post(`/hooks/generic/hooks/web`, "", { authorization: "Bearer wrong" });
    expect(wrong.status).toBe(401);
    const dangling = await post(`/hooks/generic/hooks/dangling`, "", { authorization: `Bearer ${HOOK_SECRET}` });
    expect(dangling.status).toBe(401);
    expect((await rt.store.listBuilds()).map((b) => b.buildConfig)).toEqual(["web"]);
  });
});
