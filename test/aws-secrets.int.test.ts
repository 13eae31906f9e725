/**
 * Secrets on AWS, through the real handlers and the builder task's real
 * entry over DynamoDB Local, with Secrets Manager (which cannot run here) an
 * in-memory fake with the service's semantics behind the real adapter:
 *
 * - launch writes the job to the table with secret references only (no
 *   `data`, no `value`, no secret byte in any form); the builder task
 *   resolves them from Secrets Manager right before the builder starts, so
 *   the values reach the builder's stdin and nothing that rests (the task
 *   record, the build, the CloudEvents);
 * - a missing Secret fails the build with `MissingSecret` before the builder
 *   starts;
 * - a webhook trigger's `secretReference` is read from Secrets Manager.
 */
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { runBuilderTask } from "../src/adapters/aws/builder-task.js";
import { hmacSha256Hex } from "../src/core/webhook-signature.js";
import { awsSettings } from "../src/runtime/aws.js";
import { awsHarness, ECR, examples, type Harness } from "./support/aws-harness.js";
import { stopDynamoDbLocal } from "./support/dynamodb-local.js";
import { fakeSecretsManager, type FakeSecretsManager } from "./support/fake-secrets-manager.js";

const FAKE_BUILDER = fileURLToPath(new URL("./fixtures/aws/builder/fake-builder.mjs", import.meta.url));
const NOW = "2026-12-01T10:00:00.000Z";
const VALUES = {
  password: "git-pass-7f3a91c2",
  settings: "<settings><server><password>maven-pass-0b9e44</password></server></settings>",
  npm: "npm-token-51aa0de3",
  colour: "colour-is-teal-93",
};

let h: Harness;
let sm: FakeSecretsManager;
let work: string;
beforeEach(async () => {
  sm = fakeSecretsManager();
  h = await awsHarness({ secretsManager: sm.client });
  work = mkdtempSync(join(tmpdir(), "cascade-aws-secrets-"));
});
afterEach(async () => {
  rmSync(work, { recursive: true, force: true });
  await h.dispose();
});
afterAll(stopDynamoDbLocal);

async function apply(...configs: unknown[]) {
  const res = await h.api(h.http("POST", "/buildconfigs", { items: configs }));
  expect(res.statusCode, res.body).toBe(200);
}

function privateBuild(name: string, dockerStrategy: Record<string, unknown>, sourceSecret?: string) {
  return {
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name, namespace: "shop" },
    spec: {
      source: { git: { uri: `https://git.example.test/shop/${name}.git`, ref: "main" }, ...(sourceSecret ? { sourceSecret: { name: sourceSecret } } : {}) },
      strategy: { type: "Docker", dockerStrategy },
      output: { to: { kind: "DockerImage", name: `${ECR}/shop/${name}:latest` } },
    },
  };
}

/** Start a build through the API, then its launch: RunTask, with the job in the table. */
async function startAndLaunch(name: string): Promise<string> {
  const res = await h.api(h.http("POST", `/buildconfigs/shop/${name}/instantiate`, {}));
  expect(res.statusCode, res.body).toBeLessThan(300);
  expect(await h.launch(h.takeLaunchMessages())).toEqual({ batchItemFailures: [] });
  return `${name}-1`;
}

const rawTask = async (id: string) =>
  (await h.table.client.send(new GetCommand({ TableName: h.table.name, Key: { pk: `TASK#shop/${id}`, sk: "TASK" }, ConsistentRead: true }))).Item!;

/** Every key anywhere in a value, with its path. */
function keyPaths(v: unknown, path = ""): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => keyPaths(x, `${path}[${i}]`));
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => [`${path}.${k}`, ...keyPaths(x, `${path}.${k}`)]);
  return [];
}

/** Each secret value, as text and as the base64 it travels in. */
const forms = Object.values(VALUES).flatMap((v) => [v, Buffer.from(v).toString("base64")]);
function expectNoValue(what: string, v: unknown) {
  const text = typeof v === "string" ? v : JSON.stringify(v);
  for (const f of forms) expect(text.includes(f), `${what} holds ${f}`).toBe(false);
}

describe("secrets on AWS", () => {
  it("keeps references only in the table; the builder task resolves them from Secrets Manager just before the builder", async () => {
    const store = h.rt.secrets!;
    await store.put({ kind: "Secret", namespace: "shop", name: "git", type: "kubernetes.io/basic-auth", data: { username: Buffer.from("bot"), password: Buffer.from(VALUES.password) } }, NOW);
    await store.put({ kind: "Secret", namespace: "shop", name: "maven", data: { "settings.xml": Buffer.from(VALUES.settings) } }, NOW);
    await store.put({ kind: "ConfigMap", namespace: "shop", name: "settings", data: { "colour.txt": Buffer.from(VALUES.colour) } }, NOW);
    await store.put({ kind: "Secret", namespace: "shop", name: "npm", data: { token: Buffer.from(VALUES.npm) } }, NOW);
    await apply(
      privateBuild(
        "private",
        {
          volumes: [
            { name: "maven", source: { type: "Secret", secret: { secretName: "maven" } }, mounts: [{ destinationPath: "/opt/maven" }] },
            { name: "settings", source: { type: "ConfigMap", configMap: { name: "settings" } }, mounts: [{ destinationPath: "/etc/settings" }] },
          ],
          buildSecrets: [{ id: "npmtoken", secret: { name: "npm" } }],
        },
        "git",
      ),
    );
    sm.client.calls.length = 0;
    const id = await startAndLaunch("private");
    expect(h.runTasks()).toEqual([`shop/${id}`]);
    // Nothing before the builder task read a secret.
    expect(sm.client.inputs("GetSecretValueCommand")).toEqual([]);

    // The job item in the table: the references, by name, and no data or value field anywhere.
    const before = await rawTask(id);
    expect(before.job.source.secret).toEqual({ name: "git" });
    expect(before.job.strategy.volumes.map((v: any) => [v.kind, v.source])).toEqual([["Secret", "maven"], ["ConfigMap", "settings"]]);
    expect(before.job.strategy.buildSecrets).toEqual([{ id: "npmtoken", secret: "npm" }]);
    expect(keyPaths(before).filter((p) => /\.(data|value)$/.test(p))).toEqual([]);
    expectNoValue("the task record", before);
    // Nor in the RunTask call (overrides, tags) that started the task.
    expectNoValue("RunTask", h.ecs.inputs("RunTaskCommand"));

    // The builder task: secrets from Secrets Manager, into the builder's stdin.
    const logs: string[] = [];
    const code = await runBuilderTask({ ref: { namespace: "shop", id }, tasks: h.rt.tasks, secrets: store, builderBundle: FAKE_BUILDER, workDir: work, onLog: (s) => logs.push(s), now: () => NOW });
    expect(code).toBe(0);
    expect(sm.client.inputs("GetSecretValueCommand").map((i) => i.SecretId).sort()).toEqual([
      "cascade/ConfigMap/shop/settings",
      "cascade/Secret/shop/git",
      "cascade/Secret/shop/maven",
      "cascade/Secret/shop/npm",
    ]);
    const given = JSON.parse(readFileSync(join(work, "job.json"), "utf8"));
    const text = (b64: string) => Buffer.from(b64, "base64").toString("utf8");
    expect(text(given.source.secret.data.password)).toBe(VALUES.password);
    expect(text(given.strategy.volumes[0].data["settings.xml"])).toBe(VALUES.settings);
    expect(text(given.strategy.volumes[1].data["colour.txt"])).toBe(VALUES.colour);
    expect(text(given.strategy.buildSecrets[0].value)).toBe(VALUES.npm);

    // After the run: the record has the builder's reports, and still no value.
    const after = await rawTask(id);
    expect(after.reports.map((r: any) => r.type)).toEqual(["source", "bases", "pushed"]);
    expect(keyPaths(after.job).filter((p) => /\.(data|value)$/.test(p))).toEqual([]);
    expectNoValue("the task record after the run", after);

    // STOPPED: Complete; neither the build nor any CloudEvent holds a value.
    const out = await h.taskStopped(await h.stopped(`shop/${id}`, { exitCode: 0 }));
    expect(out).toMatchObject({ status: "recorded", build: { phase: "Complete" } });
    expectNoValue("the build", await h.rt.store.getBuild("shop", id));
    expect(h.events().map((e) => e.type)).toEqual(["cascade.build.queued", "cascade.build.started", "cascade.build.succeeded", "cascade.image.published"]);
    expectNoValue("the CloudEvents", h.events());
    expectNoValue("the builder task's log", logs.join(""));
  });

  it("fails the build with MissingSecret, naming the secret and the field, before the builder starts", async () => {
    await apply(privateBuild("lost", { volumes: [{ name: "gone", source: { type: "Secret", secret: { secretName: "no-such-secret" } }, mounts: [{ destinationPath: "/gone" }] }] }));
    const id = await startAndLaunch("lost");
    const logs: string[] = [];
    const code = await runBuilderTask({ ref: { namespace: "shop", id }, tasks: h.rt.tasks, secrets: h.rt.secrets!, builderBundle: FAKE_BUILDER, workDir: work, onLog: (s) => logs.push(s) });
    expect(code).toBe(1);
    expect(existsSync(join(work, "job.json"))).toBe(false); // the builder never ran
    expect(sm.client.inputs("GetSecretValueCommand").map((i) => i.SecretId)).toEqual(["cascade/Secret/shop/no-such-secret"]);
    const message = 'secret "shop/no-such-secret" (spec.strategy.dockerStrategy.volumes[gone]) not found';
    expect((await h.rt.tasks.get({ namespace: "shop", id }))?.reports).toEqual([{ type: "failed", reason: "MissingSecret", message: expect.stringContaining(message) }]);
    expect(logs.join("")).toContain(message);

    const out = await h.taskStopped(await h.stopped(`shop/${id}`, { exitCode: 1 }));
    expect(out).toMatchObject({ status: "recorded", build: { phase: "Failed", reason: "MissingSecret", message: expect.stringContaining(message) } });
    expect(h.events().find((e) => e.type === "cascade.build.failed")?.data).toMatchObject({ phase: "Failed", reason: "MissingSecret" });
  });

  it("fails the build with BuilderError when Secrets Manager refuses the task role, naming the secret", async () => {
    await h.rt.secrets!.put({ kind: "Secret", namespace: "shop", name: "git", data: { password: Buffer.from(VALUES.password) } }, NOW);
    await apply(privateBuild("denied", {}, "git"));
    const id = await startAndLaunch("denied");
    sm.client.handlers.GetSecretValueCommand = () => {
      throw Object.assign(new Error("User is not authorized to perform: secretsmanager:GetSecretValue"), { name: "AccessDeniedException", $fault: "client", $metadata: { httpStatusCode: 400 } });
    };
    expect(await runBuilderTask({ ref: { namespace: "shop", id }, tasks: h.rt.tasks, secrets: h.rt.secrets!, builderBundle: FAKE_BUILDER, workDir: work, onLog: () => {} })).toBe(1);
    const out = await h.taskStopped(await h.stopped(`shop/${id}`, { exitCode: 1 }));
    expect(out).toMatchObject({
      status: "recorded",
      build: { phase: "Error", reason: "BuilderError", message: expect.stringMatching(/^Secrets Manager GetSecretValue of secret "shop\/git" \(cascade\/Secret\/shop\/git\): AccessDeniedException/) },
    });
  });

  it("redacts the values from what the builder task passes on and records, should the builder forget to", async () => {
    await h.rt.secrets!.put({ kind: "Secret", namespace: "shop", name: "git", data: { password: Buffer.from(VALUES.password) } }, NOW);
    await apply(privateBuild("leaky", {}, "git"));
    const id = await startAndLaunch("leaky");
    const logs: string[] = [];
    process.env.FAKE_BUILDER = "leak";
    try {
      expect(await runBuilderTask({ ref: { namespace: "shop", id }, tasks: h.rt.tasks, secrets: h.rt.secrets!, builderBundle: FAKE_BUILDER, workDir: work, onLog: (s) => logs.push(s) })).toBe(1);
    } finally {
      delete process.env.FAKE_BUILDER;
    }
    expect(logs.join("")).toContain("cloning with [redacted]");
    expect(logs.join("")).toContain("unreadable builder report: not a report: [redacted]");
    expectNoValue("the builder task's log", logs.join(""));
    expect((await h.rt.tasks.get({ namespace: "shop", id }))?.reports).toEqual([{ type: "failed", reason: "FetchSourceFailed", message: "authentication failed for [redacted]" }]);
    expectNoValue("the task record", await rawTask(id));
  });

  it("checks a webhook trigger's secretReference against the Secret in Secrets Manager", async () => {
    // As a user creates it (infra/README.md): the key as text, in stringData.
    await sm.client.send(new CreateSecretCommand({ Name: "cascade/Secret/shop/hook-secret", SecretString: JSON.stringify({ stringData: { WebHookSecretKey: "from-secrets-manager-41c" } }) }));
    const push = examples.find((e) => e.name === "push")!.examples.find((e) => e.ref === "refs/heads/master" && !e.deleted);
    await apply({
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name: "hello", namespace: "shop" },
      spec: {
        source: { git: { uri: "git@github.com:Codertocat/Hello-World.git", ref: "master" } },
        strategy: { type: "Docker" },
        output: { to: { kind: "DockerImage", name: `${ECR}/shop/hello:latest` } },
        triggers: [{ type: "GitHub", github: { secretReference: { name: "hook-secret" } } }],
      },
    });
    const body = JSON.stringify(push);
    const deliver = (secret: string, id: string) =>
      h.webhook(h.http("POST", "/hooks/github", body, { "X-GitHub-Event": "push", "X-GitHub-Delivery": id, "X-Hub-Signature-256": `sha256=${hmacSha256Hex(secret, body)}` }));
    const wrong = await deliver("not-the-secret", "d-1");
    expect(wrong.statusCode, wrong.body).toBe(401);
    const right = await deliver("from-secrets-manager-41c", "d-2");
    expect(right.statusCode, right.body).toBe(202);
    expect(JSON.parse(right.body).builds).toEqual([{ namespace: "shop", buildConfig: "hello", build: "hello-1" }]);
    expect(new Set(sm.client.inputs("GetSecretValueCommand").map((i) => i.SecretId))).toEqual(new Set(["cascade/Secret/shop/hook-secret"]));
  });

  it("takes the Secrets Manager prefix from CASCADE_SECRETS_PREFIX, refusing a bad one by name", () => {
    const env = {
      CASCADE_TABLE: "cascade-table",
      CASCADE_EVENT_BUS: "bus",
      CASCADE_BUILD_QUEUE_URL: "https://sqs.example.test/q",
      CASCADE_CLUSTER: "c",
      CASCADE_TASK_DEFINITION: "td",
      CASCADE_REGISTRY: ECR,
      CASCADE_URL_SUFFIX: "example.test",
      CASCADE_SOURCE: "urn:x",
      CASCADE_BUILDER_LOG_GROUP: "/g",
    };
    expect(awsSettings(env).CASCADE_SECRETS_PREFIX).toBe("cascade");
    expect(awsSettings({ ...env, CASCADE_SECRETS_PREFIX: "org/ci" }).CASCADE_SECRETS_PREFIX).toBe("org/ci");
    expect(() => awsSettings({ ...env, CASCADE_SECRETS_PREFIX: "org/" })).toThrow(/CASCADE_SECRETS_PREFIX: "org\/" is not a valid secrets prefix/);
  });
});
