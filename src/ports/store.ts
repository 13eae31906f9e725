/**
 * Store port: BuildConfigs, builds, the durable build queue, webhook
 * deliveries (idempotency), subscribers and the event outbox. The SQLite
 * adapter serves the local runtime; a DynamoDB adapter serves AWS.
 */
import { join } from "node:path";
import { Build, buildId, type BuildCause, type BuildInputs, type BuildPhase } from "../core/build.js";
import { ValidationError } from "../core/errors.js";
import type { BuildConfig } from "../core/buildconfig.js";

export interface StoredBuildConfig {
  config: BuildConfig;
  /** Number of the last build created for this BuildConfig (OpenShift's status.lastVersion). */
  lastVersion: number;
  createdAt: string;
  updatedAt: string;
  /**
   * The base image names (as recorded) of its newest build that recorded any:
   * what its ImageChange triggers follow when its Dockerfile lives in the
   * repository. Absent until a build records bases.
   */
  recordedBases?: string[];
}

/** `namespace` and `name` of a BuildConfig. */
export interface BuildConfigRef {
  namespace: string;
  name: string;
}

export const refKey = (r: BuildConfigRef): string => `${r.namespace}/${r.name}`;

/** The base names a build recorded, as `recordedBases` keeps them; undefined when it recorded none. */
export function recordedBaseNames(b: Pick<Build, "inputs">): string[] | undefined {
  const names = (b.inputs?.bases ?? []).map((x) => x.name);
  return names.length ? names : undefined;
}

/** What planning reads of one BuildConfig's builds. */
export interface RecentBuilds {
  /** Its newest builds, newest first (as many as asked for, or fewer). */
  recent: Build[];
  /** Its newest Complete build, also when it is older than `recent`. */
  lastComplete?: Build;
}

export interface BuildRequest {
  namespace: string;
  buildConfig: string;
  causes: BuildCause[];
  inputs: BuildInputs;
  outputTags?: string[];
  env?: { name: string; value: string }[];
  /** What must complete first: other requests of the same call (by index) and existing builds (`ns/id`). */
  after?: { requests?: number[]; builds?: string[] };
}

export interface Delivery {
  provider: string;
  id: string;
}

export interface Subscriber {
  id: string;
  url: string;
  /** HMAC key for the `X-Cascade-Signature-256` header. */
  secret: string;
  mode: "binary" | "structured";
  createdAt: string;
}

export interface OutboxDelivery {
  seq: number;
  eventId: string;
  subscriberId: string;
  /** The CloudEvent as its structured JSON form. */
  event: string;
  attempts: number;
  nextAttemptAt: string;
}

export interface BuildFilter {
  namespace?: string;
  buildConfig?: string;
  phases?: BuildPhase[];
  limit?: number;
}

export interface Store {
  putBuildConfig(config: BuildConfig, now: string): Promise<{ created: boolean; stored: StoredBuildConfig }>;
  getBuildConfig(namespace: string, name: string): Promise<StoredBuildConfig | undefined>;
  listBuildConfigs(): Promise<StoredBuildConfig[]>;
  /**
   * A number that changes whenever what the image dependency graph is made of
   * changes: a BuildConfig is put, or a build records bases that differ from
   * its BuildConfig's `recordedBases`. Read before `listBuildConfigs`, it
   * tells a process whether the graph it keeps (from an earlier list) is still
   * current, at the cost of one small read.
   */
  planningRevision(): Promise<number>;
  /** The id of each named BuildConfig's newest queued (New) build, for those that have one, by `namespace/name`. */
  queuedBuildIds(refs: readonly BuildConfigRef[]): Promise<Map<string, string>>;
  /** Each named BuildConfig's newest `limit` builds and its newest Complete build, by `namespace/name` (every ref gets an entry). */
  recentBuilds(refs: readonly BuildConfigRef[], limit: number): Promise<Map<string, RecentBuilds>>;

  /**
   * Atomically: record the delivery (if given), take the next build number of
   * each BuildConfig and queue the builds in phase New. A delivery already
   * seen returns the builds it queued the first time, with `duplicate: true`.
   */
  enqueueBuilds(
    requests: BuildRequest[],
    opts: { now: string; delivery?: Delivery; logDir: string },
  ): Promise<{ builds: Build[]; duplicate: boolean }>;
  /** The builds a delivery queued, if it was seen before (undefined when it is new). */
  deliveryBuilds(delivery: Delivery): Promise<Build[] | undefined>;
  /** Record a delivery that queued nothing, so that a redelivery is recognised. */
  recordDelivery(delivery: Delivery, now: string): Promise<{ duplicate: boolean; buildIds: string[] }>;

  getBuild(namespace: string, id: string): Promise<Build | undefined>;
  /** Find a build by id across namespaces (`ns/id` also accepted). */
  findBuild(ref: string): Promise<Build | undefined>;
  listBuilds(filter?: BuildFilter): Promise<Build[]>;

  /**
   * Take the next queued build that may start now (global limit `maxActive`,
   * `Serial` allows one active build per BuildConfig, every build it depends
   * on is Complete) and move it to Pending.
   */
  claimNextBuild(now: string, maxActive: number): Promise<Build | undefined>;
  /**
   * Update a build; with `ifPhase`, only when its phase is one of those (else
   * ConflictError). When the build then has bases (`inputs.bases`) and no
   * newer build of its BuildConfig recorded any, their names become the
   * BuildConfig's `recordedBases` (and `planningRevision` changes if they differ).
   */
  updateBuild(namespace: string, id: string, patch: Partial<Build>, ifPhase?: BuildPhase[]): Promise<Build>;
  /** Builds left Pending or Running by a process that stopped: put them back in the queue. */
  requeueInterrupted(now: string): Promise<Build[]>;

  addSubscriber(sub: Omit<Subscriber, "id" | "createdAt">, now: string): Promise<Subscriber>;
  listSubscribers(): Promise<Subscriber[]>;
  /** Queue an event for every current subscriber. */
  enqueueEvent(eventId: string, event: string, now: string): Promise<number>;
  dueDeliveries(now: string, limit: number): Promise<OutboxDelivery[]>;
  markDelivered(seq: number, now: string): Promise<void>;
  markDeliveryFailed(seq: number, error: string, nextAttemptAt: string | undefined): Promise<void>;
  deliveredEvents(subscriberId?: string): Promise<number>;

  close(): Promise<void>;
}

/**
 * The queued (New) build a request becomes once its number is taken, for
 * every Store adapter: `earlier` are the builds made from the requests before
 * it in the same call, which its `after.requests` indexes point at.
 */
export function buildFromRequest(req: BuildRequest, number: number, earlier: readonly Build[], opts: { now: string; logDir: string }): Build {
  const id = buildId(req.buildConfig, number);
  const dependsOn = [
    ...(req.after?.requests ?? []).map((i) => {
      const up = earlier[i];
      if (!up) throw new ValidationError(`build request ${earlier.length} depends on request ${i}, which is not before it`);
      return `${up.namespace}/${up.id}`;
    }),
    ...(req.after?.builds ?? []),
  ];
  return Build.parse({
    ...(dependsOn.length ? { dependsOn } : {}),
    ...(req.outputTags?.length ? { outputTags: req.outputTags } : {}),
    ...(req.env?.length ? { env: req.env } : {}),
    id,
    namespace: req.namespace,
    buildConfig: req.buildConfig,
    number,
    phase: "New",
    causes: req.causes,
    inputs: req.inputs,
    createdAt: opts.now,
    logPath: join(opts.logDir, req.namespace, `${id}.log`),
  });
}
