/**
 * The AWS flow, simulated: the real handlers wired as EventBridge, SQS and
 * ECS would wire them, over DynamoDB Local, with the SDK clients mocked only
 * for EventBridge, SQS and ECS (fakes that record each call). Events move
 * between the handlers the way AWS moves them: a PutEvents entry becomes the
 * event of the rule whose pattern matches it, SendMessageBatch entries become
 * the launch function's SQS event, and a RunTask becomes, once its builder
 * task ran (its real entry, with a stand-in builder program), the ECS
 * "Task State Change" STOPPED event of the documentation's sample.
 *
 * Graph: an external base in ECR, pushed by someone else; app1 and app2 build
 * FROM it, web builds FROM app1; other follows another base.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { awsHarness, CLUSTER_ARN, digestOf, ECR, imageChild, SOURCE, type Harness } from "./support/aws-harness.js";
import { stopDynamoDbLocal } from "./support/dynamodb-local.js";
import { matches, rulePatterns } from "./support/eventbridge.js";

const rules = rulePatterns(SOURCE, CLUSTER_ARN);
const BASE = `${ECR}/shop/base:latest`;
const BASE_DIGEST = digestOf("b");

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

/** EventBridge: the events the plan rule routes to `plan`, from the entries put since last time. */
async function deliverToPlan() {
  const out = [];
  for (const e of h.takeImageUpdates()) {
    expect(matches(rules.plan, e)).toBe(true);
    out.push(await h.plan(e));
  }
  return out;
}

describe("AWS flow: ECR push -> plan -> launch -> Fargate task -> STOPPED -> CloudEvents", () => {
  it("builds exactly the dependents of the pushed base, in waves, and emits cascade.build.succeeded with the digest", async () => {
    await apply(
      imageChild("app1", BASE),
      imageChild("app2", BASE),
      imageChild("web", `${ECR}/shop/app1:latest`),
      imageChild("other", `${ECR}/shop/other-base:latest`),
    );
    expect(h.events()).toEqual([]); // no ConfigChange trigger: nothing built yet

    // Someone pushes the base to ECR: EventBridge routes the "ECR Image Action" to image-pushed.
    const push = h.ecrPush("shop/base", "latest", BASE_DIGEST);
    expect(matches(rules.imagePushed, push)).toBe(true);
    expect(await h.imagePushed(push)).toEqual({
      published: { image: BASE, digest: BASE_DIGEST, via: "ECR push", delivery: { provider: "ecr", id: push.id } },
    });

    // plan: the whole closure is queued, the first wave dispatched to the launch queue.
    const [planned] = await deliverToPlan();
    expect(planned).toMatchObject({ image: `${BASE}@${BASE_DIGEST}`, queued: ["shop/app1-1", "shop/app2-1", "shop/web-1"], dispatched: ["shop/app1-1", "shop/app2-1"] });
    expect(h.launchMessages()).toEqual([
      { namespace: "shop", id: "app1-1" },
      { namespace: "shop", id: "app2-1" },
    ]);

    // launch: one RunTask per message, with the build's overrides.
    expect(await h.launch(h.takeLaunchMessages())).toEqual({ batchItemFailures: [] });
    expect(h.runTasks()).toEqual(["shop/app1-1", "shop/app2-1"]);
    const run1 = h.ecs.inputs("RunTaskCommand")[0];
    expect(run1).toMatchObject({ cluster: "FargateCluster", launchType: "FARGATE", startedBy: "cascade" });
    expect(run1.overrides.containerOverrides[0]).toEqual({
      name: "builder",
      environment: [
        { name: "CASCADE_BUILD", value: "shop/app1-1" },
        { name: "CASCADE_DEADLINE_SECONDS", value: String(7 * 24 * 3600) },
      ],
    });
    // The job the task will read: the ECR output, the namespace's layer cache, the base pinned later by the builder.
    const task = await h.rt.tasks.get({ namespace: "shop", id: "app1-1" });
    expect(task?.job).toMatchObject({
      output: { images: [`${ECR}/shop/app1:latest`] },
      cache: { repository: `${ECR}/cascade-cache/shop` },
      strategy: { type: "Docker", from: BASE },
      registryAuth: {},
    });

    // The Fargate task of app1 builds and pushes; ECR tells Cascade of its own push before ECS reports the stop.
    const app1Digest = digestOf("1");
    expect(await h.runTask("shop/app1-1", app1Digest)).toBe(0);
    expect(await h.imagePushed(h.ecrPush("shop/app1", "latest", app1Digest))).toHaveProperty("published");
    const [own] = await deliverToPlan();
    expect(own).toEqual({ image: `${ECR}/shop/app1:latest@${app1Digest}`, ignored: "pushed by Cascade build shop/app1-1, whose chain follows when it is recorded" });

    // STOPPED: recorded Complete with the digest; succeeded and published go out; web, freed, is dispatched.
    const stop1 = await h.stopped("shop/app1-1", { exitCode: 0 });
    expect(matches(rules.taskStopped, stop1)).toBe(true);
    expect(await h.taskStopped(stop1)).toMatchObject({ status: "recorded", build: { id: "app1-1", phase: "Complete" } });
    const succeeded = h.events().filter((e) => e.type === "cascade.build.succeeded");
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0]).toMatchObject({
      specversion: "1.0",
      source: SOURCE,
      subject: "shop/app1",
      data: {
        build: "app1-1",
        phase: "Complete",
        outputs: { image: `${ECR}/shop/app1:latest`, digest: app1Digest, tags: ["latest", "extra"] },
        inputs: { source: { commit: "6113728f27ae82c7b1a177c8d03f9e96e0adf246", message: "Initial commit" } },
      },
    });
    // The subscribers' example rule routes it to its queue.
    const succeededEntry = h.eventBridge.entries().find((e) => e.DetailType === "cascade.build.succeeded")!;
    expect(matches(rules.buildSucceeded, { source: succeededEntry.Source, "detail-type": succeededEntry.DetailType })).toBe(true);
    expect(h.events().find((e) => e.type === "cascade.image.published")?.data).toMatchObject({ image: `${ECR}/shop/app1:latest`, digest: app1Digest });
    expect(h.launchMessages().at(-1)).toEqual({ namespace: "shop", id: "web-1" });

    // The second wave launches; app2 and web finish.
    await h.launch(h.takeLaunchMessages());
    expect(h.runTasks()).toEqual(["shop/app1-1", "shop/app2-1", "shop/web-1"]);
    for (const [b, c] of [["shop/app2-1", "2"], ["shop/web-1", "3"]] as const) {
      expect(await h.runTask(b, digestOf(c))).toBe(0);
      expect((await h.taskStopped(await h.stopped(b, { exitCode: 0 }))).status).toBe("recorded");
    }
    const builds = await h.rt.store.listBuilds();
    expect(builds.map((b) => `${b.id}:${b.phase}:${b.outputs?.digest.slice(7, 10) ?? "-"}`).sort()).toEqual([
      "app1-1:Complete:111",
      "app2-1:Complete:222",
      "web-1:Complete:333",
    ]);
    // web waited for app1: the second wave.
    expect(builds.find((b) => b.id === "web-1")?.dependsOn).toEqual(["shop/app1-1"]);
    expect(h.events().filter((e) => e.type === "cascade.build.succeeded").map((e) => e.data.build)).toEqual(["app1-1", "app2-1", "web-1"]);
    expect(h.events().map((e) => e.type).filter((t) => t === "cascade.build.started")).toHaveLength(3);
    // Nothing was ever started for "other", and nothing is left to launch.
    expect(h.runTasks().some((b) => b.includes("other"))).toBe(false);
    expect(h.takeLaunchMessages().Records).toEqual([]);
  });

  it("queues nothing more for a redelivered ECR event, and nothing for a base nobody follows", async () => {
    await apply(imageChild("app1", BASE));
    const push = h.ecrPush("shop/base", "latest", BASE_DIGEST, "11111111-2222-4333-8444-555555555555");
    await h.imagePushed(push);
    await h.imagePushed(push); // EventBridge delivers at least once
    const [first, again] = await deliverToPlan();
    expect(first).toMatchObject({ queued: ["shop/app1-1"], dispatched: ["shop/app1-1"] });
    expect(again).toMatchObject({ duplicate: true, dispatched: [] });
    await h.imagePushed(h.ecrPush("shop/unrelated", "latest", BASE_DIGEST));
    expect((await deliverToPlan())[0]).toMatchObject({ queued: [], skipped: [] });
    expect(h.launchMessages()).toEqual([{ namespace: "shop", id: "app1-1" }]);
  });
});
