/**
 * The AWS composition root: the same Store contract, Builds, Planning and
 * routes as `cascade up`, wired to DynamoDB (store and build tasks),
 * EventBridge (CloudEvents out, and the normalised events in), and, where a
 * function needs them, the SQS launch queue and the ECS builder runner.
 *
 * Each function builds its SDK clients itself and hands them in, so that its
 * bundle holds only the clients it uses. Settings come from the environment
 * serverless.yml gives every function, parsed with zod: a missing or bad
 * variable is an error naming it, at init, not at the first event.
 */
import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { pino, type Logger } from "pino";
import { z } from "zod";
import { DynamoDbBuildTasks } from "../adapters/aws/build-tasks.js";
import { DynamoDbStore } from "../adapters/aws/dynamodb-store.js";
import { EventBridgeBus } from "../adapters/aws/eventbridge-bus.js";
import { DEFAULT_SECRETS_PREFIX, SecretsManagerStore, SecretsPrefix } from "../adapters/aws/secrets-manager-store.js";
import { ValidationError } from "../core/errors.js";
import { imageUpdatedEvent, type ImageUpdated } from "../core/image-updated.js";
import { systemClock, type Clock } from "../ports/clock.js";
import type { BuildTasks, LaunchQueue, RemoteBuilder } from "../ports/remote-builds.js";
import type { SecretStore } from "../ports/secret-store.js";
import type { Store } from "../ports/store.js";
import type { ApiDeps } from "./api.js";
import { Builds } from "./builds.js";
import { DEFAULT_DEADLINE_SECONDS, FargateBuilds } from "./fargate-builds.js";
import { Planning } from "./planning.js";

const csv = z
  .string()
  .default("")
  .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));
const positiveInt = (d: number) => z.coerce.number().int().positive().default(d);

/** The environment every function gets (serverless.yml, `provider.environment`). */
export const AwsSettings = z.object({
  CASCADE_TABLE: z.string().min(3),
  CASCADE_EVENT_BUS: z.string().min(1),
  CASCADE_BUILD_QUEUE_URL: z.string().min(1),
  /** The builder's ECS cluster (name or ARN), task definition and container name. */
  CASCADE_CLUSTER: z.string().min(1),
  CASCADE_TASK_DEFINITION: z.string().min(1),
  CASCADE_BUILDER_CONTAINER: z.string().min(1).default("builder"),
  CASCADE_SUBNETS: csv,
  CASCADE_SECURITY_GROUPS: csv,
  CASCADE_ASSIGN_PUBLIC_IP: z.enum(["true", "false"]).default("false"),
  CASCADE_CAPACITY_PROVIDER: z.enum(["FARGATE", "FARGATE_SPOT"]).default("FARGATE"),
  /** The account's ECR registry host: where ImageStreamTag outputs go and ECR events point. */
  CASCADE_REGISTRY: z.string().min(1),
  /** The partition's domain (`AWS::URLSuffix`), to name ECR hosts from events. */
  CASCADE_URL_SUFFIX: z.string().min(1),
  /** CloudEvents `source` of this Cascade. */
  CASCADE_SOURCE: z.string().min(1),
  CASCADE_MAX_BUILDS: positiveInt(10),
  /** The launch queue's maxReceiveCount: the last attempt records a build that cannot start. */
  CASCADE_LAUNCH_ATTEMPTS: positiveInt(5),
  CASCADE_DEADLINE_SECONDS: positiveInt(DEFAULT_DEADLINE_SECONDS),
  CASCADE_BUILDER_LOG_GROUP: z.string().min(1),
  CASCADE_BUILDER_LOG_PREFIX: z.string().min(1).default("build"),
  /** `false` turns the shared layer cache off; a TTL (`168h`) ignores older entries. */
  CASCADE_CACHE: z.enum(["true", "false"]).default("true"),
  CASCADE_CACHE_TTL: z.string().optional(),
  /**
   * Where Cascade's Secrets and ConfigMaps are in Secrets Manager:
   * `<prefix>/<kind>/<namespace>/<name>` (`src/adapters/aws/secrets-manager-store.ts`).
   * The builder task and the webhook function may read `<prefix>/*` only.
   */
  CASCADE_SECRETS_PREFIX: SecretsPrefix.default(DEFAULT_SECRETS_PREFIX),
  CASCADE_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type AwsSettings = z.infer<typeof AwsSettings>;

export function awsSettings(env: Record<string, string | undefined> = process.env): AwsSettings {
  const parsed = AwsSettings.safeParse(env);
  if (!parsed.success) {
    throw new ValidationError(
      `Cascade's AWS settings: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}

/**
 * Cascade's Secrets and ConfigMaps in Secrets Manager, under
 * `CASCADE_SECRETS_PREFIX`. A function of its own, so that only the bundles
 * that call it (webhook, the builder task) hold the Secrets Manager client.
 */
export function awsSecretStore(settings: Pick<AwsSettings, "CASCADE_SECRETS_PREFIX">, client: Pick<SecretsManagerClient, "send">): SecretStore {
  return new SecretsManagerStore({ client, prefix: settings.CASCADE_SECRETS_PREFIX });
}

export interface AwsParts {
  /** The table's client (required unless `store` and `tasks` are given). */
  dynamodb?: DynamoDBClient;
  eventBridge: Pick<EventBridgeClient, "send">;
  queue?: LaunchQueue;
  runner?: RemoteBuilder;
  /**
   * Where webhook `secretReference`s resolve: the webhook function's
   * `awsSecretStore` (Secrets Manager). A function composed without it reads
   * no secret.
   */
  secrets?: SecretStore;
  /** Replace the DynamoDB store and tasks (tests). */
  store?: Store;
  tasks?: BuildTasks;
  clock?: Clock;
  log?: Logger;
}

export interface AwsRuntime {
  settings: AwsSettings;
  store: Store;
  tasks: BuildTasks;
  bus: EventBridgeBus;
  builds: Builds;
  planning: Planning;
  fargate: FargateBuilds;
  /** Where `secretReference`s resolve, when the function was given a store. */
  secrets?: SecretStore;
  deps: ApiDeps;
  clock: Clock;
  log: Logger;
  /** Put a normalised image update on Cascade's bus, for the `plan` function. */
  publishImageUpdated(update: ImageUpdated): Promise<void>;
}

export function awsRuntime(settings: AwsSettings, parts: AwsParts): AwsRuntime {
  const clock = parts.clock ?? systemClock;
  const log = parts.log ?? pino({ level: settings.CASCADE_LOG_LEVEL, base: undefined }, pino.destination({ fd: 1, sync: true }));
  let dynamo: DynamoDbStore | undefined;
  if (!parts.store || !parts.tasks) {
    if (!parts.dynamodb) throw new ValidationError("awsRuntime: a DynamoDB client is required");
    dynamo = new DynamoDbStore({ tableName: settings.CASCADE_TABLE, client: parts.dynamodb });
  }
  const store = parts.store ?? dynamo!;
  const tasks = parts.tasks ?? new DynamoDbBuildTasks({ tableName: settings.CASCADE_TABLE, doc: dynamo!.doc });
  const bus = new EventBridgeBus({ eventBusName: settings.CASCADE_EVENT_BUS, client: parts.eventBridge });
  const builds = new Builds({
    store,
    bus,
    // Builds run as Fargate tasks that `FargateBuilds` starts; this runtime never runs one in-process.
    runner: { run: () => Promise.reject(new Error("on AWS, builds run as Fargate tasks, not in the function")) },
    clock,
    log,
    source: settings.CASCADE_SOURCE,
    logDir: settings.CASCADE_BUILDER_LOG_GROUP,
    // No credentials travel in the job: the builder task asks ECR for a token with its own role.
    registry: { auth: {}, insecure: [], defaultRegistry: settings.CASCADE_REGISTRY },
    maxActive: settings.CASCADE_MAX_BUILDS,
    defaultDeadlineSeconds: settings.CASCADE_DEADLINE_SECONDS,
    cache: { enabled: settings.CASCADE_CACHE === "true", ...(settings.CASCADE_CACHE_TTL ? { ttl: settings.CASCADE_CACHE_TTL } : {}) },
  });
  const planning = new Planning({ store, builds, clock, log });
  builds.onFinished = (b) => planning.afterBuild(b);
  builds.beforeStart = (b) => planning.unchangedInputs(b);
  const fargate = new FargateBuilds({
    store,
    builds,
    planning,
    tasks,
    clock,
    log,
    ...(parts.queue ? { queue: parts.queue } : {}),
    ...(parts.runner ? { runner: parts.runner } : {}),
    maxActive: settings.CASCADE_MAX_BUILDS,
    maxLaunchAttempts: settings.CASCADE_LAUNCH_ATTEMPTS,
    defaultDeadlineSeconds: settings.CASCADE_DEADLINE_SECONDS,
  });
  // Jobs are written to the table with secret references only: the builder task resolves them itself
  // (`runBuilderTask`), so `builds` gets no secret store here and no value rests in the table.
  const secrets = parts.secrets;
  const deps: ApiDeps = {
    store,
    builds,
    planning,
    clock,
    log,
    ...(settings.CASCADE_CACHE_TTL ? { cacheTtl: settings.CASCADE_CACHE_TTL } : {}),
    ...(secrets ? { secrets } : {}),
  };
  return {
    settings,
    store,
    tasks,
    bus,
    builds,
    planning,
    fargate,
    ...(secrets ? { secrets } : {}),
    deps,
    clock,
    log,
    async publishImageUpdated(update) {
      const event = imageUpdatedEvent(update, { id: randomUUID(), source: settings.CASCADE_SOURCE, time: clock.now().toISOString() });
      await bus.publish([event]);
    },
  };
}
