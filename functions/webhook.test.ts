/**
 * The webhook Lambda's edge, driven by the API Gateway docs sample with a
 * real octokit push payload inside, against the shared router and a real
 * (in-memory) SQLite store. No builder runs: these tests stop at the queue.
 */
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SqliteStore } from "../src/adapters/local/sqlite-store.js";
import { hmacSha256Hex } from "../src/core/webhook-signature.js";
import type { CascadeEvent } from "../src/core/events-out.js";
import type { ApiDeps } from "../src/runtime/api.js";
import { applyConfigs } from "../src/runtime/configs.js";
import { queueRuntime } from "../test/support/queue-runtime.js";
import { createWebhookHandler } from "./webhook.js";

const sample = JSON.parse(readFileSync(new URL("../test/fixtures/aws/apigw-v2/docs-sample.json", import.meta.url), "utf8"));
const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: any[] }[];
const pushExample = examples.find((e) => e.name === "push")!.examples.find((e) => e.ref === "refs/heads/master" && !e.deleted);

describe("webhook Lambda", () => {
  let store: SqliteStore;
  let published: CascadeEvent[];
  let handler: ReturnType<typeof createWebhookHandler>;
  let deps: ApiDeps;

  beforeEach(async () => {
    ({ store, published, deps } = queueRuntime());
    handler = createWebhookHandler(deps);
    await applyConfigs(deps, [
      {
        apiVersion: "build.openshift.io/v1",
        kind: "BuildConfig",
        metadata: { name: "hello", namespace: "octo" },
        spec: {
          source: { git: { uri: "git@github.com:Codertocat/Hello-World.git", ref: "master" } },
          strategy: { type: "Docker" },
          output: { to: { kind: "DockerImage", name: "registry.example.test/octo/hello:latest" } },
          triggers: [
            { type: "GitHub", github: { secret: "lambda-secret" } },
            { type: "Generic", generic: { secret: "generic-secret" } },
          ],
        },
      },
    ]);
  });
  afterEach(async () => store.close());

  function event(body: string, headers: Record<string, string>, base64 = false) {
    const e = structuredClone(sample);
    e.rawPath = "/hooks/github";
    e.rawQueryString = "";
    e.requestContext.http.path = "/hooks/github";
    e.headers = { "content-type": "application/json", ...headers };
    e.body = base64 ? Buffer.from(body).toString("base64") : body;
    e.isBase64Encoded = base64;
    return e;
  }

  it.each([false, true])("queues a build for a signed push (base64 body: %s)", async (base64) => {
    const body = JSON.stringify(pushExample);
    const res = await handler(
      event(body, { "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": `sha256=${hmacSha256Hex("lambda-secret", body)}` }, base64),
    );
    expect(res.statusCode).toBe(202);
    expect(JSON.parse(res.body).builds).toEqual([{ namespace: "octo", buildConfig: "hello", build: "hello-1" }]);
    expect((await store.getBuild("octo", "hello-1"))?.inputs.source?.commit).toBe(pushExample.after);
    expect(published.map((e) => e.type)).toEqual(["cascade.build.queued"]);
  });

  it("answers 401 to a wrong signature and queues nothing", async () => {
    const body = JSON.stringify(pushExample);
    const res = await handler(event(body, { "x-github-event": "push", "x-github-delivery": "d-2", "x-hub-signature-256": `sha256=${hmacSha256Hex("wrong", body)}` }));
    expect(res.statusCode).toBe(401);
    expect(await store.listBuilds()).toEqual([]);
  });

  it.each([
    ["a missing version", (e: any) => delete e.version, /version/],
    ["a missing method", (e: any) => delete e.requestContext.http.method, /requestContext\.http\.method/],
  ])("answers 400 naming the field for %s", async (_name, mutate, message) => {
    const e = event("{}", { "x-github-event": "push" });
    mutate(e);
    const res = await handler(e);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).message).toMatch(message);
  });

  it("serves the provider hooks only: the other routes are the api function's", async () => {
    const e = structuredClone(sample);
    e.rawPath = "/buildconfigs";
    e.requestContext.http.method = "GET";
    delete e.body;
    const res = await handler(e);
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body).message).toBe("no webhook route for GET /buildconfigs");
    e.rawPath = "/hooks/registry";
    e.requestContext.http.method = "POST";
    expect((await handler(e)).statusCode).toBe(404);
  });

  it("dispatches the builds a delivery queued, and answers even when the dispatch fails", async () => {
    let dispatched = 0;
    const body = JSON.stringify(pushExample);
    const signed = (id: string) =>
      event(body, { "x-github-event": "push", "x-github-delivery": id, "x-hub-signature-256": `sha256=${hmacSha256Hex("lambda-secret", body)}` });
    const withDispatch = createWebhookHandler(deps, { dispatch: async () => void dispatched++ });
    expect((await withDispatch(signed("d-3"))).statusCode).toBe(202);
    expect(dispatched).toBe(1);
    const failing = createWebhookHandler(deps, { dispatch: () => Promise.reject(new Error("queue down")) });
    expect((await failing(signed("d-3"))).statusCode).toBe(200); // the redelivery: nothing new
    const wrong = event(body, { "x-github-event": "push", "x-github-delivery": "d-4", "x-hub-signature-256": "sha256=00" });
    expect((await withDispatch(wrong)).statusCode).toBe(401);
    expect(dispatched).toBe(1);
  });

  it("takes OpenShift's generic webhook as YAML, and refuses a wrong secret", async () => {
    const yaml = "type: Git\ngit:\n  uri: https://github.com/Codertocat/Hello-World.git\n  ref: master\n  commit: 6113728f27ae82c7b1a177c8d03f9e96e0adf246\n";
    const e = event(yaml, { "content-type": "application/yaml" });
    e.rawPath = "/apis/build.openshift.io/v1/namespaces/octo/buildconfigs/hello/webhooks/generic-secret/generic";
    const res = await handler(e);
    expect(res.statusCode).toBe(202);
    expect((await store.getBuild("octo", "hello-1"))?.inputs.source?.commit).toBe("6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    e.rawPath = e.rawPath.replace("generic-secret", "wrong-secret");
    expect((await handler(e)).statusCode).toBe(401);
  });

  it("passes a generic payload's env to the build only when the trigger allows it", async () => {
    await applyConfigs(deps, [
      {
        apiVersion: "build.openshift.io/v1",
        kind: "BuildConfig",
        metadata: { name: "envy", namespace: "octo" },
        spec: {
          source: { git: { uri: "https://github.com/Codertocat/Hello-World.git", ref: "master" } },
          strategy: { type: "Docker" },
          output: { to: { kind: "DockerImage", name: "registry.example.test/octo/envy:latest" } },
          triggers: [{ type: "Generic", generic: { secret: "env-secret", allowEnv: true } }],
        },
      },
    ]);
    const post = async (name: string, secret: string, env: unknown) => {
      const e = event(JSON.stringify({ type: "Git", git: { ref: "master" }, env }), {});
      e.rawPath = `/apis/build.openshift.io/v1/namespaces/octo/buildconfigs/${name}/webhooks/${secret}/generic`;
      return handler(e);
    };
    expect((await post("envy", "env-secret", [{ name: "FEATURE", value: "on" }])).statusCode).toBe(202);
    expect((await store.getBuild("octo", "envy-1"))?.env).toEqual([{ name: "FEATURE", value: "on" }]);
    expect((await post("hello", "generic-secret", [{ name: "FEATURE", value: "on" }])).statusCode).toBe(202);
    expect((await store.getBuild("octo", "hello-1"))?.env).toBeUndefined();
    const bad = await post("envy", "env-secret", [{ name: "BAD=NAME", value: "x" }]);
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).message).toContain("env.0.name");
  });
});
