/**
 * The AWS functions wired as AWS would wire them, for the handler and flow
 * tests: the real handlers and runtime over a DynamoDB Local table, with the
 * SDK clients of the services that cannot run here (EventBridge, SQS, ECS,
 * CloudWatch Logs) replaced by fakes that record every call. Events are
 * built from the captured AWS samples in test/fixtures/aws.
 */
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { runBuilderTask } from "../../src/adapters/aws/builder-task.js";
import { EcsRunner } from "../../src/adapters/aws/ecs-runner.js";
import { SqsLaunchQueue } from "../../src/adapters/aws/sqs-launch-queue.js";
import { parseRefKey, type BuildRef } from "../../src/ports/remote-builds.js";
import { awsRuntime, awsSecretStore, awsSettings, type AwsRuntime } from "../../src/runtime/aws.js";
import { createApiHandler } from "../../functions/api.js";
import { createImagePushedHandler } from "../../functions/image-pushed.js";
import { createLaunchHandler } from "../../functions/launch.js";
import { createPlanHandler } from "../../functions/plan.js";
import { createTaskStoppedHandler } from "../../functions/task-stopped.js";
import { createWebhookHandler } from "../../functions/webhook.js";
import { CloudWatchBuildLogs } from "../../src/adapters/aws/cloudwatch-build-logs.js";
import { fakeClient, fakeEventBridge, fakeSqs, type FakeClient } from "./aws-fakes.js";
import { localTable, type LocalTable } from "./dynamodb-local.js";
import { delivered } from "./eventbridge.js";

export const fixture = (p: string) => JSON.parse(readFileSync(new URL(`../fixtures/aws/${p}`, import.meta.url), "utf8"));
export const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: any[] }[];

/** The ECR registry of the documentation's ECR sample event (account 123456789012, us-west-2), on a placeholder domain. */
export const ECR = "123456789012.dkr.ecr.us-west-2.example.test";
/** The cluster of the documentation's ECS sample event. */
export const CLUSTER_ARN = "arn:aws:ecs:us-west-2:111122223333:cluster/FargateCluster";
export const SOURCE = "urn:cascade:aws:cascade-test";
const FAKE_BUILDER = fileURLToPath(new URL("../fixtures/aws/builder/fake-builder.mjs", import.meta.url));

export const digestOf = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;

export interface Harness {
  table: LocalTable;
  rt: AwsRuntime;
  eventBridge: ReturnType<typeof fakeEventBridge>;
  sqs: ReturnType<typeof fakeSqs>;
  ecs: FakeClient;
  logs: FakeClient;
  webhook: ReturnType<typeof createWebhookHandler>;
  api: ReturnType<typeof createApiHandler>;
  imagePushed: ReturnType<typeof createImagePushedHandler>;
  plan: ReturnType<typeof createPlanHandler>;
  launch: ReturnType<typeof createLaunchHandler>;
  taskStopped: ReturnType<typeof createTaskStoppedHandler>;
  /** The CloudEvents put on the bus so far (structured JSON), in order. */
  events(): any[];
  /** The builds (`ns/id`) RunTask was called for, in order. */
  runTasks(): string[];
  /** An SQS event carrying every launch message sent since the last call, as the event source mapping delivers them. */
  takeLaunchMessages(receiveCount?: number): any;
  /** The launch queue messages sent so far (parsed bodies). */
  launchMessages(): BuildRef[];
  /** Run the builder task of a RunTask call (its real entry, with a stand-in builder that pushes `digest`). */
  runTask(build: string, digest: string): Promise<number>;
  /** The STOPPED event of a build's task, from the documentation's sample. */
  stopped(build: string, o?: { exitCode?: number; stopCode?: string; stoppedReason?: string; containerReason?: string }): Promise<any>;
  /** An ECR push event, from the documentation's sample. */
  ecrPush(repository: string, tag: string | undefined, digest: string, id?: string): any;
  /** An API Gateway v2 request event, from the documentation's sample. */
  http(method: string, path: string, body?: unknown, headers?: Record<string, string>): any;
  /** The event the plan rule's target gets for each cascade.image.updated entry put since the last call. */
  takeImageUpdates(): any[];
  dispose(): Promise<void>;
}

export async function awsHarness(opts: { maxBuilds?: number; launchAttempts?: number; secretsManager?: FakeClient } = {}): Promise<Harness> {
  const table = await localTable();
  const eventBridge = fakeEventBridge();
  const sqs = fakeSqs();
  let tasks = 0;
  const byToken = new Map<string, string>();
  const ecs = fakeClient({
    // As ECS does with RunTask's clientToken: the same token gives the same task.
    RunTaskCommand: (input) => {
      let taskArn = byToken.get(input.clientToken);
      if (!taskArn) {
        taskArn = `${CLUSTER_ARN.replace(":cluster/", ":task/")}/${(++tasks).toString(16).padStart(32, "0")}`;
        byToken.set(input.clientToken, taskArn);
      }
      return { tasks: [{ taskArn, overrides: input.overrides, lastStatus: "PROVISIONING" }], failures: [] };
    },
    StopTaskCommand: (input) => ({ task: { taskArn: input.task, desiredStatus: "STOPPED" } }),
  });
  // CloudWatch Logs: one page, then the end of the stream (no events, the same forward token).
  const logs = fakeClient({
    GetLogEventsCommand: (input) =>
      input.nextToken ? { events: [], nextForwardToken: input.nextToken } : { events: [{ message: "--> FROM base" }, { message: "--> Pushed" }], nextForwardToken: "f/1" },
  });
  const settings = awsSettings({
    CASCADE_TABLE: table.name,
    CASCADE_EVENT_BUS: "cascade-test",
    CASCADE_BUILD_QUEUE_URL: "https://sqs.us-west-2.example.test/111122223333/cascade-test-BuildQueue",
    CASCADE_CLUSTER: "FargateCluster",
    CASCADE_TASK_DEFINITION: "arn:aws:ecs:us-west-2:111122223333:task-definition/cascade-test-builder:1",
    CASCADE_BUILDER_CONTAINER: "builder",
    CASCADE_SUBNETS: "subnet-abcd1234",
    CASCADE_SECURITY_GROUPS: "sg-abcd1234",
    CASCADE_REGISTRY: ECR,
    CASCADE_URL_SUFFIX: "example.test",
    CASCADE_SOURCE: SOURCE,
    CASCADE_MAX_BUILDS: String(opts.maxBuilds ?? 10),
    CASCADE_LAUNCH_ATTEMPTS: String(opts.launchAttempts ?? 5),
    CASCADE_BUILDER_LOG_GROUP: "/cascade/test/builder",
  });
  const queue = new SqsLaunchQueue({ client: sqs.client, queueUrl: settings.CASCADE_BUILD_QUEUE_URL, sleep: async () => {} });
  const runner = new EcsRunner({
    client: ecs,
    cluster: settings.CASCADE_CLUSTER,
    taskDefinition: settings.CASCADE_TASK_DEFINITION,
    container: settings.CASCADE_BUILDER_CONTAINER,
    subnets: settings.CASCADE_SUBNETS,
    securityGroups: settings.CASCADE_SECURITY_GROUPS,
    assignPublicIp: false,
  });
  const rt = awsRuntime(settings, {
    dynamodb: table.client,
    eventBridge: eventBridge.client,
    queue,
    runner,
    ...(opts.secretsManager ? { secrets: awsSecretStore(settings, opts.secretsManager) } : {}),
    log: pino({ level: "silent" }),
  });
  const work = mkdtempSync(join(tmpdir(), "cascade-aws-harness-"));
  let launchTaken = 0;
  let updatesTaken = 0;
  let messageN = 0;
  let pushN = 0;

  const runTaskInput = async (build: string) => {
    const input = ecs.inputs("RunTaskCommand").findLast((i) => i.overrides.containerOverrides[0].environment.some((e: any) => e.value === build));
    if (!input) throw new Error(`no RunTask for ${build}`);
    const taskArn = (await rt.tasks.get(parseRefKey(build)!))?.taskArn;
    if (!taskArn) throw new Error(`no task recorded for ${build}`);
    return { input, taskArn };
  };

  const h: Harness = {
    table,
    rt,
    eventBridge,
    sqs,
    ecs,
    logs,
    webhook: createWebhookHandler(rt.deps, { dispatch: () => rt.fargate.dispatch() }),
    api: createApiHandler({
      rt,
      logs: new CloudWatchBuildLogs({ client: logs, logGroup: settings.CASCADE_BUILDER_LOG_GROUP, streamPrefix: "build", container: "builder" }),
    }),
    imagePushed: createImagePushedHandler(rt),
    plan: createPlanHandler(rt),
    launch: createLaunchHandler({ rt, queue }),
    taskStopped: createTaskStoppedHandler(rt),
    events: () => eventBridge.events(),
    runTasks: () => ecs.inputs("RunTaskCommand").map((i) => i.overrides.containerOverrides[0].environment.find((e: any) => e.name === "CASCADE_BUILD").value),
    launchMessages: () => sqs.messages(),
    takeLaunchMessages(receiveCount = 1) {
      const all = sqs.messages();
      const fresh = all.slice(launchTaken);
      launchTaken = all.length;
      return {
        Records: fresh.map((body) => ({
          messageId: `msg-${++messageN}`,
          receiptHandle: `handle-${messageN}`,
          body: JSON.stringify(body),
          attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: "1764064800000" },
          messageAttributes: {},
          md5OfBody: "",
          eventSource: "aws:sqs",
          eventSourceARN: "arn:aws:sqs:us-west-2:111122223333:cascade-test-BuildQueue",
          awsRegion: "us-west-2",
        })),
      };
    },
    async runTask(build, digest) {
      const ref = parseRefKey(build)!;
      process.env.FAKE_DIGEST = digest;
      try {
        // The builder task reads Secrets Manager with its own client (here the same fake, through the same store).
        return await runBuilderTask({ ref, tasks: rt.tasks, ...(rt.secrets ? { secrets: rt.secrets } : {}), builderBundle: FAKE_BUILDER, workDir: join(work, ref.id), onLog: () => {} });
      } finally {
        delete process.env.FAKE_DIGEST;
      }
    },
    async stopped(build, o = {}) {
      const { input, taskArn } = await runTaskInput(build);
      const e = structuredClone(fixture("ecs/task-state-change.json"));
      e.resources = [taskArn];
      e.detail.taskArn = taskArn;
      e.detail.clusterArn = CLUSTER_ARN;
      e.detail.lastStatus = "STOPPED";
      e.detail.desiredStatus = "STOPPED";
      e.detail.startedBy = input.startedBy;
      e.detail.stopCode = o.stopCode ?? "EssentialContainerExited";
      e.detail.stoppedReason = o.stoppedReason ?? "Essential container in task exited";
      e.detail.stoppedAt = "2026-11-25T10:05:00.000Z";
      e.detail.overrides = input.overrides;
      const c = e.detail.containers[0];
      c.name = "builder";
      c.lastStatus = "STOPPED";
      c.taskArn = taskArn;
      if (o.exitCode !== undefined) c.exitCode = o.exitCode;
      if (o.containerReason) c.reason = o.containerReason;
      return e;
    },
    ecrPush(repository, tag, digest, id) {
      const e = structuredClone(fixture("ecr/image-push.json"));
      e.detail["repository-name"] = repository;
      e.detail["image-digest"] = digest;
      if (tag === undefined) delete e.detail["image-tag"];
      else e.detail["image-tag"] = tag;
      // Every push is its own event: a fresh id unless one is given (to model a redelivery).
      e.id = id ?? `${e.id.slice(0, 24)}${String(++pushN).padStart(12, "0")}`;
      return e;
    },
    http(method, path, body, headers = {}) {
      const e = structuredClone(fixture("apigw-v2/docs-sample.json"));
      const [p, q = ""] = path.split("?");
      e.rawPath = p;
      e.rawQueryString = q;
      e.requestContext.http.method = method;
      e.requestContext.http.path = p;
      e.headers = { "content-type": "application/json", ...headers };
      if (body === undefined) delete e.body;
      else e.body = typeof body === "string" ? body : JSON.stringify(body);
      return e;
    },
    takeImageUpdates() {
      const entries = eventBridge.entries();
      const fresh = entries.slice(updatesTaken);
      updatesTaken = entries.length;
      return fresh.filter((e) => e.DetailType === "cascade.image.updated").map((e) => delivered(e));
    },
    async dispose() {
      rmSync(work, { recursive: true, force: true });
      await table.drop();
    },
  };
  return h;
}

/** A BuildConfig of the flow's kind: a Docker build from `from`, to `${ECR}/<name>:latest`, with an ImageChange trigger. */
export function imageChild(name: string, from: string, namespace = "shop") {
  return {
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name, namespace },
    spec: {
      source: { git: { uri: `https://git.example.test/${namespace}/${name}.git`, ref: "main" } },
      strategy: { type: "Docker", dockerStrategy: { from: { kind: "DockerImage", name: from } } },
      output: { to: { kind: "DockerImage", name: `${ECR}/${namespace}/${name}:latest` } },
      triggers: [{ type: "ImageChange" }, { type: "GitHub", github: { secret: "s3cret" } }],
    },
  };
}
