/**
 * Each AWS function's handler on real captured payloads (the AWS
 * documentation's ECR, ECS and API Gateway samples, an octokit GitHub push),
 * over DynamoDB Local, with fakes for EventBridge, SQS, ECS, CloudWatch Logs
 * and, for poll-bases, ECR. Malformed events are derived from the samples
 * with structuredClone and delete, and must be refused naming the field.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { EcrRegistry } from "../src/adapters/aws/ecr.js";
import { ValidationError } from "../src/core/errors.js";
import { hmacSha256Hex } from "../src/core/webhook-signature.js";
import type { Registry } from "../src/ports/registry.js";
import { createPollBasesHandler } from "../functions/poll-bases.js";
import { fakeClient, rejection } from "./support/aws-fakes.js";
import { awsHarness, digestOf, ECR, examples, fixture, imageChild, type Harness } from "./support/aws-harness.js";
import { stopDynamoDbLocal } from "./support/dynamodb-local.js";

const BASE = `${ECR}/shop/base:latest`;
let h: Harness;

beforeEach(async () => {
  h = await awsHarness();
});
afterEach(async () => h.dispose());
afterAll(stopDynamoDbLocal);

async function apply(...configs: unknown[]) {
  const res = await h.api(h.http("POST", "/buildconfigs", { items: configs }));
  expect(res.statusCode, res.body).toBe(200);
}

/** Push the base and plan: the followers are queued and dispatched. */
async function pushBase(digest = digestOf("b")) {
  await h.imagePushed(h.ecrPush("shop/base", "latest", digest));
  for (const e of h.takeImageUpdates()) await h.plan(e);
}

async function phase(id: string) {
  return (await h.rt.store.getBuild("shop", id))?.phase;
}

describe("webhook", () => {
  it("queues and dispatches the build of a signed GitHub push carried by an API Gateway v2 event", async () => {
    const push = examples.find((e) => e.name === "push")!.examples.find((e) => e.ref === "refs/heads/master" && !e.deleted);
    const hello = imageChild("hello", BASE);
    hello.spec.source.git = { uri: "git@github.com:Codertocat/Hello-World.git", ref: "master" };
    await apply(hello);
    const body = JSON.stringify(push);
    const res = await h.webhook(
      h.http("POST", "/hooks/github", body, { "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": `sha256=${hmacSha256Hex("s3cret", body)}` }),
    );
    expect(res.statusCode, res.body).toBe(202);
    expect(JSON.parse(res.body).builds).toEqual([{ namespace: "shop", buildConfig: "hello", build: "hello-1" }]);
    expect((await h.rt.store.getBuild("shop", "hello-1"))?.inputs.source?.commit).toBe(push.after);
    expect(h.launchMessages()).toEqual([{ namespace: "shop", id: "hello-1" }]);
    expect(h.events().map((e) => e.type)).toEqual(["cascade.build.queued"]);
  });
});

describe("image-pushed", () => {
  it("publishes nothing for a delete, a failed push or a push by digest", async () => {
    const d = digestOf("b");
    const del = structuredClone(fixture("ecr/image-delete.json"));
    del.detail["image-digest"] = d;
    expect(await h.imagePushed(del)).toEqual({ ignored: "DELETE SUCCESS is not a successful push" });
    const failed = h.ecrPush("shop/base", "latest", d);
    failed.detail.result = "FAILURE";
    expect(await h.imagePushed(failed)).toEqual({ ignored: "PUSH FAILURE is not a successful push" });
    expect(await h.imagePushed(h.ecrPush("shop/base", undefined, d))).toEqual({ ignored: `push of shop/base@${d} by digest moves no tag` });
    expect(h.eventBridge.entries()).toEqual([]);
  });

  it.each(["detail.repository-name", "detail.image-digest", "region"])("refuses an event without %s, naming it", async (path) => {
    const e = h.ecrPush("shop/base", "latest", digestOf("b"));
    const [a, b] = path.split(".");
    if (b) delete e[a!][b];
    else delete e[a!];
    const err = await rejection<ValidationError>(h.imagePushed(e));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(new RegExp(`^ECR Image Action event: ${path.replace(".", "\\.")}:`));
    expect(h.eventBridge.entries()).toEqual([]);
  });
});

describe("plan", () => {
  it("refuses a malformed bus event naming the field", async () => {
    await apply(imageChild("app", BASE));
    await h.imagePushed(h.ecrPush("shop/base", "latest", digestOf("b")));
    const [e] = h.takeImageUpdates();
    const bad = structuredClone(e);
    delete bad.detail.data.image;
    expect((await rejection(h.plan(bad))).message).toMatch(/^cascade\.image\.updated event: detail\.data\.image:/);
    expect(await h.rt.store.listBuilds()).toEqual([]);
  });
});

describe("launch", () => {
  beforeEach(async () => {
    await apply(imageChild("a", BASE), imageChild("b", BASE), imageChild("c", `${ECR}/shop/a:latest`));
    await pushBase();
    expect(h.launchMessages()).toEqual([
      { namespace: "shop", id: "a-1" },
      { namespace: "shop", id: "b-1" },
    ]);
  });

  it("reports exactly the messages to retry: no capacity (delayed) and malformed; the rest start", async () => {
    h.ecs.handlers.RunTaskCommand = (input, n) =>
      n === 2
        ? { tasks: [], failures: [{ arn: "arn:x", reason: "Capacity is unavailable at this time. Please try again later or in a different availability zone" }] }
        : { tasks: [{ taskArn: `arn:aws:ecs:us-west-2:111122223333:task/FargateCluster/${"0".repeat(31)}${n}`, overrides: input.overrides }] };
    const batch = h.takeLaunchMessages();
    batch.Records.push({ ...batch.Records[0], messageId: "msg-bad", receiptHandle: "handle-bad", body: '{"namespace":"shop"}' });
    const res = await h.launch(batch);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: batch.Records[1].messageId }, { itemIdentifier: "msg-bad" }]);
    expect(h.sqs.client.inputs("ChangeMessageVisibilityCommand")).toEqual([
      { QueueUrl: expect.any(String), ReceiptHandle: batch.Records[1].receiptHandle, VisibilityTimeout: 30 },
    ]);
    expect([await phase("a-1"), await phase("b-1")]).toEqual(["Running", "Pending"]);
    expect(h.events().filter((e) => e.type === "cascade.build.started").map((e) => e.data.build)).toEqual(["a-1"]);

    // SQS delivers b-1 again (second receive): now it starts.
    const again = { Records: [{ ...batch.Records[1], attributes: { ApproximateReceiveCount: "2" } }] };
    expect(await h.launch(again)).toEqual({ batchItemFailures: [] });
    expect(await phase("b-1")).toBe("Running");
    // And a third delivery of the same message (at least once) starts nothing more.
    expect(await h.launch(again)).toEqual({ batchItemFailures: [] });
    expect(h.runTasks()).toEqual(["shop/a-1", "shop/b-1", "shop/b-1"]);
  });

  it("starts one task, and stops none, when SQS delivers the same launch twice at once", async () => {
    const outcomes = await Promise.all([h.rt.fargate.launch({ namespace: "shop", id: "a-1" }, 1), h.rt.fargate.launch({ namespace: "shop", id: "a-1" }, 1)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(["skipped", "started"]);
    expect(new Set(h.ecs.inputs("RunTaskCommand").map((i) => i.clientToken)).size).toBe(1);
    expect(h.ecs.inputs("StopTaskCommand")).toEqual([]);
    expect(await phase("a-1")).toBe("Running");
  });

  it("records a build that found no capacity on its last attempt as Error, and leaves its downstream not run", async () => {
    h.ecs.handlers.RunTaskCommand = () => ({ tasks: [], failures: [{ reason: "Capacity is unavailable at this time." }] });
    const batch = h.takeLaunchMessages(5);
    expect(await h.launch({ Records: [batch.Records[0]] })).toEqual({ batchItemFailures: [] });
    const a = await h.rt.store.getBuild("shop", "a-1");
    expect([a?.phase, a?.reason]).toEqual(["Error", "BuilderError"]);
    expect(a?.message).toMatch(/^the builder could not start after 5 attempts: ECS RunTask for build "shop\/a-1".*Capacity is unavailable/);
    expect(h.events().find((e) => e.type === "cascade.build.failed")?.data.build).toBe("a-1");
    const c = await h.rt.store.getBuild("shop", "c-1");
    expect([c?.phase, c?.reason]).toEqual(["Cancelled", "UpstreamFailed"]);
  });

  it("fails a build whose resources no Fargate task holds, without RunTask", async () => {
    const big = imageChild("big", BASE);
    (big.spec as Record<string, unknown>).resources = { limits: { cpu: "64" } };
    await apply(big);
    await pushBase(digestOf("c"));
    const batch = h.takeLaunchMessages();
    const bigMessage = batch.Records.find((r: any) => JSON.parse(r.body).id === "big-1");
    expect(await h.launch({ Records: [bigMessage] })).toEqual({ batchItemFailures: [] });
    const b = await h.rt.store.getBuild("shop", "big-1");
    expect([b?.phase, b?.reason]).toEqual(["Failed", "InvalidBuildConfig"]);
    expect(b?.message).toMatch(/larger than any Fargate task/);
    expect(h.runTasks()).toEqual([]);
  });

  it("starts nothing for a build cancelled after it was dispatched", async () => {
    const res = await h.api(h.http("POST", "/builds/shop/a-1/cancel"));
    expect(res.statusCode, res.body).toBe(202);
    expect(JSON.parse(res.body).phase).toBe("Cancelled");
    await h.launch(h.takeLaunchMessages());
    expect(h.runTasks()).toEqual(["shop/b-1"]);
  });
});

describe("task-stopped", () => {
  beforeEach(async () => {
    await apply(imageChild("a", BASE), imageChild("c", `${ECR}/shop/a:latest`));
    await pushBase();
    await h.launch(h.takeLaunchMessages());
    expect(h.runTasks()).toEqual(["shop/a-1"]);
  });

  it("records a reported failure and leaves the downstream not run", async () => {
    process.env.FAKE_BUILDER = "fail";
    try {
      expect(await h.runTask("shop/a-1", digestOf("1"))).toBe(1);
    } finally {
      delete process.env.FAKE_BUILDER;
    }
    const out = await h.taskStopped(await h.stopped("shop/a-1", { exitCode: 1 }));
    expect(out).toMatchObject({ status: "recorded", build: { phase: "Failed", reason: "DockerBuildFailed", message: "RUN make: exit status 2" } });
    const failed = h.events().find((e) => e.type === "cascade.build.failed");
    expect(failed.data).toMatchObject({ build: "a-1", reason: "DockerBuildFailed" });
    expect(await phase("c-1")).toBe("Cancelled");
    expect(h.launchMessages().map((m) => m.id)).toEqual(["a-1"]);
  });

  it("records an out-of-memory kill, and a task that stopped with nothing reported", async () => {
    const oom = await h.taskStopped(await h.stopped("shop/a-1", { exitCode: 137, containerReason: "OutOfMemoryError: Container killed due to memory usage" }));
    expect(oom).toMatchObject({ status: "recorded", build: { phase: "Failed", reason: "OutOfMemoryKilled" } });

    await h.imagePushed(h.ecrPush("shop/base", "latest", digestOf("d")));
    for (const e of h.takeImageUpdates()) await h.plan(e);
    await h.launch(h.takeLaunchMessages());
    const lost = await h.taskStopped(
      await h.stopped("shop/a-2", { stopCode: "TaskFailedToStart", stoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s)" }),
    );
    expect(lost).toMatchObject({ status: "recorded", build: { phase: "Error", reason: "BuilderError" } });
    expect((lost as any).build.message).toBe(
      "the builder task stopped (TaskFailedToStart: CannotPullContainerError: pull image manifest has been retried 5 time(s)) with exit code none and reported no result",
    );
  });

  it("ignores other tasks, other clusters, other states and redeliveries", async () => {
    const doc = structuredClone(fixture("ecs/task-state-change.json"));
    expect(await h.taskStopped(doc)).toMatchObject({ status: "ignored", reason: expect.stringContaining("is RUNNING, not STOPPED") });
    doc.detail.lastStatus = "STOPPED";
    expect(await h.taskStopped(doc)).toMatchObject({ status: "ignored", reason: expect.stringContaining("not a Cascade builder task") });
    const elsewhere = await h.stopped("shop/a-1", { exitCode: 0 });
    elsewhere.detail.clusterArn = "arn:aws:ecs:us-west-2:111122223333:cluster/other";
    expect(await h.taskStopped(elsewhere)).toMatchObject({ status: "ignored", reason: expect.stringContaining("not the builder's") });

    await h.runTask("shop/a-1", digestOf("1"));
    const stop = await h.stopped("shop/a-1", { exitCode: 0 });
    expect((await h.taskStopped(stop)).status).toBe("recorded");
    expect(await h.taskStopped(stop)).toEqual({ status: "ignored", reason: 'build "shop/a-1" already Complete' });
    expect(h.events().filter((e) => e.type === "cascade.build.succeeded")).toHaveLength(1);
  });

  it.each([
    ["detail.taskArn", (e: any) => delete e.detail.taskArn],
    ["detail.containers", (e: any) => delete e.detail.containers],
    ["detail.overrides.containerOverrides", (e: any) => (e.detail.overrides.containerOverrides[0].environment[0].value = "no-namespace")],
  ])("refuses a malformed event naming %s", async (path, mutate) => {
    const e = await h.stopped("shop/a-1", { exitCode: 0 });
    mutate(e);
    const err = await rejection<ValidationError>(h.taskStopped(e));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain(`ECS Task State Change event: ${path}:`);
    expect(await phase("a-1")).toBe("Running");
  });
});

describe("api", () => {
  beforeEach(async () => {
    await apply(imageChild("a", BASE), imageChild("c", `${ECR}/shop/a:latest`));
    await pushBase();
    await h.launch(h.takeLaunchMessages());
  });

  it("serves the read routes", async () => {
    const list = await h.api(h.http("GET", "/builds?namespace=shop"));
    expect(JSON.parse(list.body).builds.map((b: any) => `${b.id}:${b.phase}`)).toEqual(["c-1:New", "a-1:Running"]);
    expect(JSON.parse((await h.api(h.http("GET", "/builds/shop/a-1"))).body)).toMatchObject({ id: "a-1", phase: "Running" });
    expect(JSON.parse((await h.api(h.http("GET", "/healthz"))).body)).toEqual({ status: "ok" });
    expect(JSON.parse((await h.api(h.http("GET", "/graph"))).body).edges).toEqual([{ from: "shop/a", to: "shop/c", image: `${ECR}/shop/a:latest` }]);
    expect((await h.api(h.http("GET", "/builds/shop/nope-1"))).statusCode).toBe(404);
    expect((await h.api(h.http("GET", "/subscribers"))).statusCode).toBe(404);
    expect((await h.api(h.http("DELETE", "/builds"))).statusCode).toBe(405);
    const bad = await h.api(h.http("POST", "/buildconfigs", "{not json"));
    expect([bad.statusCode, JSON.parse(bad.body).message]).toEqual([400, "request body must be a JSON object"]);
  });

  it("reads a build's log from its task's CloudWatch stream", async () => {
    const res = await h.api(h.http("GET", "/builds/shop/a-1/log"));
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe("--> FROM base\n--> Pushed\n");
    expect(res.headers["x-cascade-build-phase"]).toBe("Running");
    const taskId = (await h.rt.tasks.get({ namespace: "shop", id: "a-1" }))!.taskArn!.split("/").at(-1);
    expect(h.logs.inputs("GetLogEventsCommand")[0]).toMatchObject({ logGroupName: "/cascade/test/builder", logStreamName: `build/builder/${taskId}` });
    expect((await h.api(h.http("GET", "/builds/shop/c-1/log"))).body).toBe(""); // not started: no stream yet
  });

  it("cancels a running build by stopping its task, which task-stopped then records Cancelled", async () => {
    const res = await h.api(h.http("POST", "/builds/shop/a-1/cancel"));
    expect(res.statusCode).toBe(202);
    const taskArn = (await h.rt.tasks.get({ namespace: "shop", id: "a-1" }))!.taskArn;
    expect(h.ecs.inputs("StopTaskCommand")).toEqual([{ cluster: "FargateCluster", task: taskArn, reason: "Cascade: cancelled by a user" }]);
    const out = await h.taskStopped(await h.stopped("shop/a-1", { exitCode: 143, stopCode: "UserInitiated", stoppedReason: "Cascade: cancelled by a user" }));
    expect(out).toMatchObject({ status: "recorded", build: { phase: "Cancelled", reason: "Cancelled" } });
    expect(h.events().filter((e) => e.type === "cascade.build.cancelled").map((e) => e.data.build)).toEqual(["a-1", "c-1"]);
    expect((await h.api(h.http("POST", "/builds/shop/a-1/cancel"))).statusCode).toBe(409);
  });

  it("cancels a queued build at once, and starts a BuildConfig on request", async () => {
    const res = await h.api(h.http("POST", "/builds/shop/c-1/cancel"));
    expect([res.statusCode, JSON.parse(res.body).phase]).toEqual([202, "Cancelled"]);
    const started = await h.api(h.http("POST", "/buildconfigs/shop/c/instantiate", { message: "by hand" }));
    expect(started.statusCode, started.body).toBe(201);
    expect(JSON.parse(started.body)).toMatchObject({ id: "c-2", causes: [{ type: "Manual", message: "by hand" }] });
    expect(h.launchMessages().map((m) => m.id)).toEqual(["a-1", "c-2"]);
  });
});

describe("poll-bases", () => {
  it("publishes a changed external base once per change, and plan builds its followers", async () => {
    await apply(imageChild("a", BASE));
    // A's last build used the base at d0.
    const d0 = digestOf("0");
    const { builds } = await h.rt.store.enqueueBuilds([{ namespace: "shop", buildConfig: "a", causes: [{ type: "Manual", message: "m", at: "2026-11-25T09:00:00Z" }], inputs: { bases: [] } }], {
      now: "2026-11-25T09:00:00Z",
      logDir: "/l",
    });
    await h.rt.store.updateBuild("shop", builds[0]!.id, { phase: "Complete", inputs: { bases: [{ name: BASE, digest: d0 }] }, outputs: { image: `${ECR}/shop/a:latest`, digest: digestOf("a"), tags: ["latest"] } });
    let current = d0;
    const ecr = fakeClient({ DescribeImagesCommand: () => ({ imageDetails: [{ imageDigest: current, imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json" }] }) });
    const elsewhere: Registry = {
      resolveDigest: () => Promise.reject(new Error("only ECR bases here")),
      getManifest: () => Promise.reject(new Error("unused")),
      getImageConfig: () => Promise.reject(new Error("unused")),
      manifestExists: () => Promise.reject(new Error("unused")),
    };
    const poll = createPollBasesHandler(h.rt, new EcrRegistry({ client: ecr, fallback: elsewhere }));
    const schedule = { version: "0", id: "s-1", "detail-type": "Scheduled Event", source: "aws.events", time: "2026-11-25T10:00:00Z", detail: {} };

    expect(await poll(schedule)).toMatchObject({ polled: [BASE], changes: [], errors: [] });
    expect(ecr.inputs("DescribeImagesCommand")).toEqual([{ registryId: "123456789012", repositoryName: "shop/base", imageIds: [{ imageTag: "latest" }] }]);
    current = digestOf("1");
    expect(await poll(schedule)).toMatchObject({ changes: [{ image: BASE, digest: current, previous: d0 }] });
    await poll(schedule); // seen again before a build completes
    const updates = h.takeImageUpdates();
    expect(updates.map((u) => u.detail.data.delivery)).toEqual([
      { provider: "poll", id: `${BASE}@${d0}>${current}` },
      { provider: "poll", id: `${BASE}@${d0}>${current}` },
    ]);
    const [first, second] = [await h.plan(updates[0]), await h.plan(updates[1])];
    expect(first).toMatchObject({ queued: ["shop/a-2"], dispatched: ["shop/a-2"] });
    expect(second).toMatchObject({ duplicate: true, queued: [] });
  });
});
