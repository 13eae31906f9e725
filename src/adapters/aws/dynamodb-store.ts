/**
 * The AWS Store: one DynamoDB table (serverless.yml's `CascadeTable`: string
 * keys `pk` and `sk`, TTL attribute `expiresAt`), single-table design, and
 * no secondary index, so serverless.yml needs no GSI for it. Behaviour
 * matches the SQLite store (the reference) and the shared Store contract.
 * Every read that a decision depends on is strongly consistent (a GSI could
 * not be), and every change that must hold across items is one
 * `TransactWriteItems` (an event for several subscribers is one idempotent
 * transaction per subscriber).
 *
 * Items (pk / sk):
 *   CONFIG / <ns>/<name>            a BuildConfig: `config` (its JSON), createdAt, updatedAt, and
 *                                   `recordedBases` / `recordedNumber`: the base names of its newest
 *                                   build that recorded any, and that build's number
 *   PLANREV / PLANREV               `rev`: the planning revision, bumped in the same transaction as
 *                                   every BuildConfig put and every change of a `recordedBases`
 *   RUN / <ns>/<name>               its run state: `lastVersion` (the build counter), `active`
 *                                   (its builds in Pending or Running), `queue` (a map from build
 *                                   number to {seq, policy} for its builds in New) and `rev`, bumped
 *                                   on every change of `active` or `queue`. This is the lock item.
 *   NAME#<name> / <ns>              "a BuildConfig of this name exists in this namespace", so that
 *                                   `findBuild("web-3")` finds every namespace without a scan
 *   BUILD#<ns>/<name> / <n:10>      a build: `b` (the Build record as a map), `seq`, `runPolicy`
 *                                   (as at enqueue, like SQLite's column) and `ver` (bumped on every write)
 *   SEQ / SEQ                       the global sequence: insertion order of builds, subscribers, outbox
 *   SLOTS / SLOTS                   `active`: builds in Pending or Running, for the global limit
 *   DELIVERY#<provider> / <id>      a webhook delivery and the builds it queued (`ns/id` list)
 *   SUB / sha256(url)               a subscriber (one per URL)
 *   OUTBOX / <seq:16>               an outbox entry still to deliver
 *   OUTBOX#DONE#<subscriber> / <seq:16>   a delivered entry
 *   OUTBOX#DEAD / <seq:16>          an entry given up on
 *   EVENT#<event id> / <subscriber> "this event is already in the outbox for this subscriber"
 *
 * Deliveries, delivered and dead outbox entries and the event guards carry
 * `expiresAt` (epoch seconds, `retentionDays` after `now`, 30 by default), so
 * DynamoDB's TTL removes them; a webhook redelivered after that is new again.
 *
 * Enqueue: one transaction puts the builds, the delivery (condition: absent)
 * and, per BuildConfig, moves `lastVersion` from the value read to the new one
 * (condition: unchanged) and adds the builds to `queue`. A lost race on the
 * counter re-reads and retries with the next numbers; a lost race on the
 * delivery answers with the first delivery's builds and `duplicate: true`.
 * A batch that fits one transaction (100 items: builds + BuildConfigs + 1)
 * is one; a larger one (the closure of a widely used base) is split into
 * transactions that each fit, numbered as each is written, with the delivery
 * in the last, so a redelivery finds it only once every build is queued.
 *
 * Claim: read SLOTS and every RUN item, take the queued builds in `seq`
 * order, keep those their policy allows (Parallel: any; Serial and
 * SerialLatestOnly: only the lowest number of the queue, and only when the
 * BuildConfig has no active build) and whose upstream builds are Complete
 * (checked when read: Complete is final), then, in one transaction: the build New -> Pending (condition: `ver`
 * unchanged), the RUN item loses it from `queue` and gains one `active`
 * (condition for Serial policies: `rev` unchanged, so the decision was made on
 * the current state), and SLOTS gains one `active` (condition: below the
 * limit). Two claimers that pick the same build cannot both commit; the loser
 * reads again and takes the next one. Every later phase change (updateBuild,
 * requeueInterrupted) updates `active`, `queue` and SLOTS in the same
 * transaction as the build, conditioned on the build's `ver`.
 *
 * Reads: listBuilds queries each BuildConfig's partition (newest first) and
 * merges by `seq`, which gives SQLite's order: within one BuildConfig `seq`
 * grows with the build number, because a number is taken only after reading
 * the counter that the previous number's transaction wrote, and `seq` is
 * reserved after that read. listBuildConfigs sorts by namespace, then name, by
 * UTF-8 bytes as SQLite does. A claim reads all RUN items (one small item per
 * BuildConfig) and the queued candidates' build items. A RUN item holds its
 * BuildConfig's queue, which bounds one BuildConfig to some thousands of
 * queued builds (400 KB per item).
 *
 * Errors: conditional failures become ConflictError where the port says so;
 * throttling, 5xx and network failures become CascadeError with `temporary`.
 */
import {
  DynamoDBClient,
  type CreateTableCommandInput,
  type DynamoDBClientConfig,
} from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type QueryCommandInput,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { createHash, randomUUID } from "node:crypto";
import { Build, buildId, type BuildPhase } from "../../core/build.js";
import type { BuildConfig } from "../../core/buildconfig.js";
import { CascadeError, ConflictError, NotFoundError, ValidationError } from "../../core/errors.js";
import {
  buildFromRequest,
  recordedBaseNames,
  refKey,
  type BuildConfigRef,
  type BuildFilter,
  type BuildRequest,
  type Delivery,
  type OutboxDelivery,
  type RecentBuilds,
  type Store,
  type StoredBuildConfig,
  type Subscriber,
} from "../../ports/store.js";

export interface DynamoDbStoreOptions {
  tableName: string;
  /** A client to use (the store leaves it open), or the config of one the store creates and destroys on close. */
  client?: DynamoDBClient;
  clientConfig?: DynamoDBClientConfig;
  /** Days to keep deliveries, finished outbox entries and event guards (TTL); `null` keeps them. Default 30. */
  retentionDays?: number | null;
  /** Attempts of an optimistic write that keeps losing races before giving up with a temporary error. Default 30. */
  maxAttempts?: number;
}

/** The table as serverless.yml declares it, for tests and local tooling. */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "pk", AttributeType: "S" },
      { AttributeName: "sk", AttributeType: "S" },
    ],
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
  };
}

/** DynamoDB's limit on the actions of one transaction. */
export const MAX_TRANSACTION_ITEMS = 100;

type Item = Record<string, unknown>;
interface Key {
  pk: string;
  sk: string;
}
type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];
interface QueueEntry {
  seq: number;
  policy: string;
}
interface RunItem extends Key {
  ns: string;
  name: string;
  lastVersion: number;
  active: number;
  queue: Record<string, QueueEntry>;
  rev: number;
}

const ACTIVE_PHASES: readonly BuildPhase[] = ["Pending", "Running"];
const IDENTITY = ["id", "namespace", "buildConfig", "number"] as const;
const BUILD_FIELDS = new Set(Object.keys(Build.shape));

const pad = (n: number, width: number): string => String(n).padStart(width, "0");
const keyId = (k: Key): string => `${k.pk}\u0000${k.sk}`;

const K = {
  config: (ns: string, name: string): Key => ({ pk: "CONFIG", sk: `${ns}/${name}` }),
  run: (ns: string, name: string): Key => ({ pk: "RUN", sk: `${ns}/${name}` }),
  name: (name: string, ns: string): Key => ({ pk: `NAME#${name}`, sk: ns }),
  builds: (ns: string, name: string): string => `BUILD#${ns}/${name}`,
  build: (ns: string, name: string, n: number): Key => ({ pk: `BUILD#${ns}/${name}`, sk: pad(n, 10) }),
  seq: { pk: "SEQ", sk: "SEQ" } as Key,
  slots: { pk: "SLOTS", sk: "SLOTS" } as Key,
  planRev: { pk: "PLANREV", sk: "PLANREV" } as Key,
  delivery: (d: Delivery): Key => ({ pk: `DELIVERY#${d.provider}`, sk: d.id }),
  sub: (url: string): Key => ({ pk: "SUB", sk: createHash("sha256").update(url).digest("hex") }),
  outbox: (seq: number): Key => ({ pk: "OUTBOX", sk: pad(seq, 16) }),
  done: (subscriberId: string, seq: number): Key => ({ pk: `OUTBOX#DONE#${subscriberId}`, sk: pad(seq, 16) }),
  dead: (seq: number): Key => ({ pk: "OUTBOX#DEAD", sk: pad(seq, 16) }),
  eventGuard: (eventId: string, subscriberId: string): Key => ({ pk: `EVENT#${eventId}`, sk: subscriberId }),
};

/** `web-app-12` -> BuildConfig `web-app`, number 12 (the inverse of `buildId`), or undefined. */
export function parseBuildId(id: string): { buildConfig: string; number: number } | undefined {
  const m = /^(.+)-([1-9][0-9]{0,9})$/.exec(id);
  return m ? { buildConfig: m[1]!, number: Number(m[2]) } : undefined;
}

/** Compare as SQLite's BINARY collation does: by UTF-8 bytes. */
function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

const num = (v: unknown): number => (typeof v === "number" ? v : 0);

/** Names and values of one DynamoDB expression, with placeholders for every name. */
class Expr {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private readonly byName = new Map<string, string>();
  private v = 0;
  /** `b.phase` -> `#n0.#n1` */
  path(dotted: string): string {
    return dotted
      .split(".")
      .map((part) => {
        let ph = this.byName.get(part);
        if (!ph) {
          ph = `#n${this.byName.size}`;
          this.byName.set(part, ph);
          this.names[ph] = part;
        }
        return ph;
      })
      .join(".");
  }
  value(v: unknown): string {
    const ph = `:v${this.v++}`;
    this.values[ph] = v;
    return ph;
  }
  /** The placeholders for a command: empty maps are not allowed, so they are left out. */
  get attrs(): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> } {
    return {
      ...(Object.keys(this.names).length ? { ExpressionAttributeNames: this.names } : {}),
      ...(Object.keys(this.values).length ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

/** An update expression built from SET, REMOVE and ADD clauses. */
function updateExpression(set: string[], remove: string[], add: string[]): string {
  return [
    set.length ? `SET ${set.join(", ")}` : "",
    remove.length ? `REMOVE ${remove.join(", ")}` : "",
    add.length ? `ADD ${add.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join(" ");
}

const errName = (e: unknown): string => (e as { name?: unknown })?.name?.toString() ?? "";
/** A lost race: another writer changed an item this write was conditioned on, or wrote it at the same time. */
function isLostRace(e: unknown): boolean {
  const name = errName(e);
  if (name === "ConditionalCheckFailedException" || name === "TransactionConflictException") return true;
  if (name !== "TransactionCanceledException") return false;
  const reasons = (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.every((r) => ["None", "ConditionalCheckFailed", "TransactionConflict", undefined].includes(r.Code));
}

const TEMPORARY_ERRORS = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "TransactionInProgressException",
  "TransactionConflictException",
  "ReplicatedWriteConflictException",
  "TimeoutError",
  "RequestTimeout",
]);
const TEMPORARY_NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENETUNREACH"]);

/** An SDK or network error as one of Cascade's errors; `what` names the operation and the thing. */
export function translateDynamoError(e: unknown, what: string): CascadeError {
  if (e instanceof CascadeError) return e;
  const name = errName(e) || "Error";
  const message = e instanceof Error ? e.message : String(e);
  const meta = (e as { $metadata?: { httpStatusCode?: number } })?.$metadata;
  const status = meta?.httpStatusCode;
  if (name === "ConditionalCheckFailedException") return new ConflictError(`${what}: ${message}`, { cause: e });
  if (name === "TransactionCanceledException") {
    const reasons = ((e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((r) => r.Code ?? "None");
    const temporary = reasons.some((c) => c === "ThrottlingError" || c === "ProvisionedThroughputExceeded" || c === "TransactionConflict");
    return new CascadeError("StoreError", `${what}: DynamoDB cancelled the transaction (${reasons.join(", ")})`, { cause: e, temporary });
  }
  const code = (e as { code?: unknown })?.code;
  const temporary =
    TEMPORARY_ERRORS.has(name) ||
    (e as { $fault?: string })?.$fault === "server" ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    (typeof code === "string" && TEMPORARY_NETWORK_CODES.has(code));
  return new CascadeError("StoreError", `${what}: DynamoDB ${name}: ${message}`, { cause: e, temporary });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DynamoDbStore implements Store {
  readonly tableName: string;
  readonly doc: DynamoDBDocumentClient;
  private readonly client: DynamoDBClient;
  private readonly ownsClient: boolean;
  private readonly retentionDays: number | null;
  private readonly maxAttempts: number;

  constructor(o: DynamoDbStoreOptions) {
    this.tableName = o.tableName;
    this.ownsClient = !o.client;
    this.client = o.client ?? new DynamoDBClient(o.clientConfig ?? {});
    this.doc = DynamoDBDocumentClient.from(this.client, {
      marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    });
    this.retentionDays = o.retentionDays === undefined ? 30 : o.retentionDays;
    this.maxAttempts = o.maxAttempts ?? 30;
  }

  // ---- plumbing ------------------------------------------------------------------------------------------------

  private where(what: string): string {
    return `DynamoDB table "${this.tableName}": ${what}`;
  }

  /** Run `body` again while it loses races (conditional checks, transaction conflicts); translate other errors. */
  private async retry<T>(what: string, body: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await body();
      } catch (e) {
        if (e instanceof CascadeError) throw e;
        if (!isLostRace(e)) throw translateDynamoError(e, this.where(what));
        if (attempt >= this.maxAttempts) {
          throw new CascadeError("StoreContention", `${this.where(what)}: still losing to concurrent writers after ${attempt} attempts`, {
            cause: e,
            temporary: true,
          });
        }
        await sleep(Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random()));
      }
    }
  }

  /** Translate errors of a body that has no race to retry. */
  private async guard<T>(what: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (e) {
      throw translateDynamoError(e, this.where(what));
    }
  }

  private async get(key: Key): Promise<Item | undefined> {
    const r = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return r.Item;
  }

  /** Strongly consistent BatchGetItem, by 100 keys, following UnprocessedKeys. */
  private async batchGet(keys: Key[]): Promise<Map<string, Item>> {
    const out = new Map<string, Item>();
    const unique = [...new Map(keys.map((k) => [keyId(k), k])).values()];
    for (let i = 0; i < unique.length; i += 100) {
      let request: Record<string, unknown>[] = unique.slice(i, i + 100).map((k) => ({ pk: k.pk, sk: k.sk }));
      for (let round = 0; request.length; round++) {
        const r = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: request, ConsistentRead: true } } }),
        );
        for (const item of r.Responses?.[this.tableName] ?? []) out.set(keyId(item as Key), item);
        request = r.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        if (request.length) await sleep(Math.min(1000, 20 * 2 ** round));
      }
    }
    return out;
  }

  /** Every page of a strongly consistent query, or until `limit` items. */
  private async query(input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey">, limit = Infinity): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.doc.send(
        new QueryCommand({ ...input, TableName: this.tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      items.push(...(r.Items ?? []));
      start = r.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items.slice(0, limit);
  }

  private queryPartition(pk: string, opts: { newestFirst?: boolean; limit?: number; filter?: (x: Expr) => string } = {}) {
    const x = new Expr();
    const cond = `${x.path("pk")} = ${x.value(pk)}`;
    const filter = opts.filter?.(x);
    return this.query(
      {
        KeyConditionExpression: cond,
        ...(filter ? { FilterExpression: filter } : {}),
        ...(opts.newestFirst ? { ScanIndexForward: false } : {}),
        ...(opts.limit !== undefined && !filter ? { Limit: Math.min(opts.limit, 1000) } : {}),
        ...x.attrs,
      },
      opts.limit,
    );
  }

  private async transact(items: TransactItem[]): Promise<void> {
    if (items.length > MAX_TRANSACTION_ITEMS) {
      throw new ValidationError(
        `${this.where("transaction")}: needs ${items.length} writes in one transaction; DynamoDB allows ${MAX_TRANSACTION_ITEMS}`,
      );
    }
    await this.doc.send(new TransactWriteCommand({ TransactItems: items }));
  }

  /** Reserve `n` numbers of the global sequence: returns the first. */
  private async reserveSeq(n: number): Promise<number> {
    const x = new Expr();
    const r = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: K.seq,
        UpdateExpression: `ADD ${x.path("value")} ${x.value(n)}`,
        ReturnValues: "UPDATED_NEW",
        ...x.attrs,
      }),
    );
    return num(r.Attributes?.value) - n + 1;
  }

  private expiresAt(now: string): { expiresAt?: number } {
    if (this.retentionDays === null) return {};
    const at = Date.parse(now);
    if (Number.isNaN(at)) throw new ValidationError(`time "${now}" is not an ISO 8601 date`);
    return { expiresAt: Math.floor(at / 1000) + Math.round(this.retentionDays * 86_400) };
  }

  private toBuild(item: Item): Build {
    const parsed = Build.safeParse(item.b);
    if (!parsed.success) {
      throw new CascadeError("StoreError", `${this.where(`item ${item.pk}/${item.sk}`)} is not a valid build: ${parsed.error.message}`);
    }
    return parsed.data;
  }

  /** The key of build `ns/id`, or undefined when the id is not of the form `<buildconfig>-<n>`. */
  private buildKey(ns: string, id: string): Key | undefined {
    const p = parseBuildId(id);
    return p ? K.build(ns, p.buildConfig, p.number) : undefined;
  }

  private refKey(ref: string): Key | undefined {
    const slash = ref.indexOf("/");
    return slash < 0 ? undefined : this.buildKey(ref.slice(0, slash), ref.slice(slash + 1));
  }

  // ---- BuildConfigs --------------------------------------------------------------------------------------------

  async putBuildConfig(config: BuildConfig, now: string) {
    const ns = config.metadata.namespace ?? "default";
    const name = config.metadata.name;
    const json = JSON.stringify(config);
    return this.retry(`put buildconfig "${ns}/${name}"`, async () => {
      if (!(await this.get(K.config(ns, name)))) {
        const run: RunItem = { ...K.run(ns, name), ns, name, lastVersion: 0, active: 0, queue: {}, rev: 0 };
        await this.transact([
          {
            Put: {
              TableName: this.tableName,
              Item: { ...K.config(ns, name), ns, name, config: json, createdAt: now, updatedAt: now },
              ConditionExpression: "attribute_not_exists(pk)",
            },
          },
          { Put: { TableName: this.tableName, Item: run, ConditionExpression: "attribute_not_exists(pk)" } },
          { Put: { TableName: this.tableName, Item: { ...K.name(name, ns), ns, name } } },
          this.bumpPlanningRevision(),
        ]);
        const stored: StoredBuildConfig = { config, lastVersion: 0, createdAt: now, updatedAt: now };
        return { created: true, stored };
      }
      const x = new Expr();
      await this.transact([
        {
          Update: {
            TableName: this.tableName,
            Key: K.config(ns, name),
            UpdateExpression: `SET ${x.path("config")} = ${x.value(json)}, ${x.path("updatedAt")} = ${x.value(now)}`,
            ConditionExpression: `attribute_exists(${x.path("pk")})`,
            ...x.attrs,
          },
        },
        this.bumpPlanningRevision(),
      ]);
      const got = await this.batchGet([K.config(ns, name), K.run(ns, name)]);
      const item = got.get(keyId(K.config(ns, name)));
      const stored: StoredBuildConfig = {
        ...(item ? this.toStored(item, got.get(keyId(K.run(ns, name)))) : { lastVersion: 0, createdAt: now }),
        config,
        updatedAt: now,
      };
      return { created: false, stored };
    });
  }

  private toStored(config: Item, run: Item | undefined): StoredBuildConfig {
    const recorded = config.recordedBases;
    return {
      config: JSON.parse(String(config.config)) as BuildConfig,
      lastVersion: num(run?.lastVersion),
      createdAt: String(config.createdAt),
      updatedAt: String(config.updatedAt),
      ...(Array.isArray(recorded) && recorded.length ? { recordedBases: recorded.map(String) } : {}),
    };
  }

  /** The transaction item that bumps the planning revision. */
  private bumpPlanningRevision(): TransactItem {
    const x = new Expr();
    return { Update: { TableName: this.tableName, Key: K.planRev, UpdateExpression: `ADD ${x.path("rev")} ${x.value(1)}`, ...x.attrs } };
  }

  async planningRevision() {
    return this.guard("read the planning revision", async () => num((await this.get(K.planRev))?.rev));
  }

  async queuedBuildIds(refs: readonly BuildConfigRef[]) {
    return this.guard("read queued builds", async () => {
      const runs = await this.batchGet(refs.map((r) => K.run(r.namespace, r.name)));
      const out = new Map<string, string>();
      for (const r of refs) {
        const run = runs.get(keyId(K.run(r.namespace, r.name)));
        const numbers = Object.keys((run?.queue as Record<string, unknown> | undefined) ?? {}).map(Number);
        if (numbers.length) out.set(refKey(r), buildId(r.name, Math.max(...numbers)));
      }
      return out;
    });
  }

  async recentBuilds(refs: readonly BuildConfigRef[], limit: number) {
    return this.guard("read recent builds", async () => {
      const per = await mapLimit(refs, 8, async (r): Promise<RecentBuilds> => {
        const pk = K.builds(r.namespace, r.name);
        const recent = limit > 0 ? (await this.queryPartition(pk, { newestFirst: true, limit })).map((i) => this.toBuild(i)) : [];
        let lastComplete = recent.find((b) => b.phase === "Complete");
        if (!lastComplete) {
          const [item] = await this.queryPartition(pk, { newestFirst: true, limit: 1, filter: (x) => `${x.path("b.phase")} = ${x.value("Complete")}` });
          if (item) lastComplete = this.toBuild(item);
        }
        return { recent, ...(lastComplete ? { lastComplete } : {}) };
      });
      return new Map(refs.map((r, i) => [refKey(r), per[i]!]));
    });
  }

  /**
   * The writes that make `build`'s bases its BuildConfig's recorded bases,
   * when it has bases and no newer build recorded any: conditioned on the
   * recorded number read, so that a concurrent recorder makes this a lost race.
   */
  private async recordBases(build: Build): Promise<TransactItem[]> {
    const names = recordedBaseNames(build);
    if (!names) return [];
    const config = await this.get(K.config(build.namespace, build.buildConfig));
    if (!config) return [];
    const recordedNumber = typeof config.recordedNumber === "number" ? config.recordedNumber : undefined;
    if (recordedNumber !== undefined && build.number < recordedNumber) return [];
    const previous = Array.isArray(config.recordedBases) ? config.recordedBases.map(String) : undefined;
    const same = previous !== undefined && previous.length === names.length && previous.every((n, i) => n === names[i]);
    if (same && recordedNumber === build.number) return [];
    const x = new Expr();
    const items: TransactItem[] = [
      {
        Update: {
          TableName: this.tableName,
          Key: K.config(build.namespace, build.buildConfig),
          UpdateExpression: `SET ${x.path("recordedBases")} = ${x.value(names)}, ${x.path("recordedNumber")} = ${x.value(build.number)}`,
          ConditionExpression:
            recordedNumber === undefined ? `attribute_not_exists(${x.path("recordedNumber")})` : `${x.path("recordedNumber")} = ${x.value(recordedNumber)}`,
          ...x.attrs,
        },
      },
    ];
    if (!same) items.push(this.bumpPlanningRevision());
    return items;
  }

  async getBuildConfig(namespace: string, name: string) {
    return this.guard(`get buildconfig "${namespace}/${name}"`, async () => {
      const got = await this.batchGet([K.config(namespace, name), K.run(namespace, name)]);
      const config = got.get(keyId(K.config(namespace, name)));
      return config ? this.toStored(config, got.get(keyId(K.run(namespace, name)))) : undefined;
    });
  }

  async listBuildConfigs() {
    return this.guard("list buildconfigs", async () => {
      const [configs, runs] = await Promise.all([this.queryPartition("CONFIG"), this.queryPartition("RUN")]);
      const runBySk = new Map(runs.map((r) => [String(r.sk), r]));
      return configs
        .sort((a, b) => byteCompare(String(a.ns), String(b.ns)) || byteCompare(String(a.name), String(b.name)))
        .map((c) => this.toStored(c, runBySk.get(String(c.sk))));
    });
  }

  // ---- deliveries and the queue --------------------------------------------------------------------------------

  /** The builds a delivery queued, in order, or undefined when the delivery is new. */
  async deliveryBuilds(delivery: Delivery): Promise<Build[] | undefined> {
    return this.guard(`read delivery ${delivery.provider}/${delivery.id}`, () => this.readDelivery(delivery));
  }

  private async readDelivery(delivery: Delivery): Promise<Build[] | undefined> {
    const seen = await this.get(K.delivery(delivery));
    if (!seen) return undefined;
    const refs = (seen.builds as string[] | undefined) ?? [];
    const keys = refs.map((r) => this.refKey(r)).filter((k): k is Key => k !== undefined);
    const got = await this.batchGet(keys);
    return keys.flatMap((k) => {
      const item = got.get(keyId(k));
      return item ? [this.toBuild(item)] : [];
    });
  }

  async enqueueBuilds(requests: BuildRequest[], opts: { now: string; delivery?: Delivery; logDir: string }) {
    if (opts.delivery) {
      const previous = await this.guard("enqueue builds", () => this.readDelivery(opts.delivery!));
      if (previous) return { builds: previous, duplicate: true };
    }
    // Chunks that fit one transaction each: a request's build, its BuildConfig's counter (once per chunk),
    // and the delivery in the last chunk. A batch that fits is one transaction, as before.
    const chunks: BuildRequest[][] = [];
    let current: BuildRequest[] = [];
    let configs = new Set<string>();
    for (const r of requests) {
      const key = `${r.namespace}/${r.buildConfig}`;
      const items = current.length + 1 + configs.size + (configs.has(key) ? 0 : 1) + 1; // + 1 for the delivery
      if (current.length && items > MAX_TRANSACTION_ITEMS) {
        chunks.push(current);
        current = [];
        configs = new Set();
      }
      current.push(r);
      configs.add(key);
    }
    if (current.length || chunks.length === 0) chunks.push(current);
    const builds: Build[] = [];
    for (const [i, chunk] of chunks.entries()) {
      const last = i === chunks.length - 1;
      const made = await this.retry("enqueue builds", () => this.enqueueChunk(chunk, builds, { ...opts, ...(last && opts.delivery ? { delivery: opts.delivery } : {}) }, last));
      if (made.duplicate) return { builds: made.builds, duplicate: true };
      builds.push(...made.builds);
    }
    return { builds, duplicate: false };
  }

  /**
   * One transaction of an enqueue: the chunk's builds, numbered from its
   * BuildConfigs' counters as read now (conditioned on them), and, in the last
   * chunk, the delivery. `earlier` are the builds of the chunks already
   * committed, which `after.requests` indexes may name. Should a later chunk
   * never commit, the earlier builds stay queued, and a redelivery coalesces
   * into them rather than queueing them twice.
   */
  private async enqueueChunk(
    requests: BuildRequest[],
    earlier: readonly Build[],
    opts: { now: string; delivery?: Delivery; logDir: string },
    last: boolean,
  ): Promise<{ builds: Build[]; duplicate: boolean }> {
    if (opts.delivery && last) {
      const previous = await this.readDelivery(opts.delivery);
      if (previous) return { builds: previous, duplicate: true };
    }
    const got = await this.batchGet(requests.flatMap((r) => [K.config(r.namespace, r.buildConfig), K.run(r.namespace, r.buildConfig)]));
    const state = new Map<string, { ns: string; name: string; old: number; next: number; policy: string; queued: [number, QueueEntry][] }>();
    for (const r of requests) {
      const key = `${r.namespace}/${r.buildConfig}`;
      if (state.has(key)) continue;
      const config = got.get(keyId(K.config(r.namespace, r.buildConfig)));
      const run = got.get(keyId(K.run(r.namespace, r.buildConfig)));
      if (!config || !run) throw new NotFoundError(`buildconfig "${key}" not found`);
      const parsed = JSON.parse(String(config.config)) as BuildConfig;
      const lastVersion = num(run.lastVersion);
      state.set(key, { ns: r.namespace, name: r.buildConfig, old: lastVersion, next: lastVersion, policy: parsed.spec?.runPolicy ?? "Serial", queued: [] });
    }
    // The sequence is reserved after reading the counters: see the header on why that keeps the order.
    const firstSeq = requests.length ? await this.reserveSeq(requests.length) : 0;
    const all: Build[] = [...earlier];
    const builds: Build[] = [];
    const items: TransactItem[] = [];
    requests.forEach((req, i) => {
      const st = state.get(`${req.namespace}/${req.buildConfig}`)!;
      const number = ++st.next;
      const build = buildFromRequest(req, number, all, opts);
      const seq = firstSeq + i;
      st.queued.push([number, { seq, policy: st.policy }]);
      items.push({
        Put: {
          TableName: this.tableName,
          Item: { ...K.build(req.namespace, req.buildConfig, number), b: build, seq, runPolicy: st.policy, ver: 0 },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      });
      all.push(build);
      builds.push(build);
    });
    for (const st of state.values()) {
      const x = new Expr();
      const sets = [`${x.path("lastVersion")} = ${x.value(st.next)}`];
      for (const [n, entry] of st.queued) sets.push(`${x.path(`queue.${n}`)} = ${x.value(entry)}`);
      items.push({
        Update: {
          TableName: this.tableName,
          Key: K.run(st.ns, st.name),
          UpdateExpression: updateExpression(sets, [], [`${x.path("rev")} ${x.value(1)}`]),
          // The counter moves from the value read: a concurrent enqueue makes this fail, and the retry takes the next numbers.
          ConditionExpression: `${x.path("lastVersion")} = ${x.value(st.old)}`,
          ...x.attrs,
        },
      });
    }
    if (opts.delivery && last) {
      items.push({
        Put: {
          TableName: this.tableName,
          Item: {
            ...K.delivery(opts.delivery),
            builds: all.map((b) => `${b.namespace}/${b.id}`),
            receivedAt: opts.now,
            ...this.expiresAt(opts.now),
          },
          // A concurrent first delivery makes this fail; the retry finds it and answers duplicate.
          ConditionExpression: "attribute_not_exists(pk)",
        },
      });
    }
    if (items.length) await this.transact(items);
    return { builds, duplicate: false };
  }

  async recordDelivery(delivery: Delivery, now: string) {
    return this.retry(`record delivery ${delivery.provider}/${delivery.id}`, async () => {
      const previous = await this.readDelivery(delivery);
      if (previous) return { duplicate: true, buildIds: previous.map((b) => b.id) };
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...K.delivery(delivery), builds: [], receivedAt: now, ...this.expiresAt(now) },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return { duplicate: false, buildIds: [] as string[] };
    });
  }

  // ---- builds ----------------------------------------------------------------------------------------------------

  async getBuild(namespace: string, id: string) {
    return this.guard(`get build "${namespace}/${id}"`, async () => {
      const key = this.buildKey(namespace, id);
      const item = key ? await this.get(key) : undefined;
      return item ? this.toBuild(item) : undefined;
    });
  }

  async findBuild(ref: string) {
    const slash = ref.indexOf("/");
    if (slash >= 0) return this.getBuild(ref.slice(0, slash), ref.slice(slash + 1));
    return this.guard(`find build "${ref}"`, async () => {
      const p = parseBuildId(ref);
      if (!p) return undefined;
      const namespaces = (await this.queryPartition(`NAME#${p.buildConfig}`)).map((i) => String(i.sk));
      const got = await this.batchGet(namespaces.map((ns) => K.build(ns, p.buildConfig, p.number)));
      const found = [...got.values()];
      if (found.length > 1) {
        throw new ValidationError(`build id "${ref}" exists in several namespaces; name it as NAMESPACE/${ref}`);
      }
      return found[0] ? this.toBuild(found[0]) : undefined;
    });
  }

  async listBuilds(filter: BuildFilter = {}) {
    return this.guard("list builds", async () => {
      const limit = filter.limit ?? 1000;
      if (limit <= 0) return [];
      let bcs: { ns: string; name: string }[];
      if (filter.namespace && filter.buildConfig) {
        bcs = [{ ns: filter.namespace, name: filter.buildConfig }];
      } else {
        bcs = (await this.queryPartition("RUN"))
          .map((r) => ({ ns: String(r.ns), name: String(r.name) }))
          .filter((r) => (!filter.namespace || r.ns === filter.namespace) && (!filter.buildConfig || r.name === filter.buildConfig));
      }
      const phases = filter.phases?.length ? filter.phases : undefined;
      const perConfig = await mapLimit(bcs, 8, (bc) =>
        this.queryPartition(K.builds(bc.ns, bc.name), {
          newestFirst: true,
          limit,
          ...(phases ? { filter: (x: Expr) => `${x.path("b.phase")} IN (${phases.map((p) => x.value(p)).join(", ")})` } : {}),
        }),
      );
      return perConfig
        .flat()
        .sort((a, b) => num(b.seq) - num(a.seq))
        .slice(0, limit)
        .map((i) => this.toBuild(i));
    });
  }

  async claimNextBuild(_now: string, maxActive: number) {
    return this.retry("claim the next build", async () => {
      const [slots, runItems] = await Promise.all([this.get(K.slots), this.queryPartition("RUN")]);
      if (num(slots?.active) >= maxActive) return undefined;
      const candidates: { run: RunItem; number: number; entry: QueueEntry }[] = [];
      for (const run of runItems as unknown as RunItem[]) {
        const numbers = Object.keys(run.queue ?? {}).map(Number);
        const lowest = Math.min(...numbers);
        for (const n of numbers) {
          const entry = run.queue[String(n)]!;
          // Serial and SerialLatestOnly: one active build per BuildConfig, and only its lowest-numbered queued one.
          if (entry.policy === "Parallel" || (num(run.active) === 0 && n === lowest)) candidates.push({ run, number: n, entry });
        }
      }
      if (!candidates.length) return undefined;
      candidates.sort((a, b) => a.entry.seq - b.entry.seq);
      const keyOf = (c: (typeof candidates)[number]) => K.build(c.run.ns, c.run.name, c.number);
      const builds = await this.batchGet(candidates.map(keyOf));
      const upstream = [...builds.values()].flatMap((i) => ((i.b as Build).dependsOn ?? []).map((r) => this.refKey(r)));
      const deps = await this.batchGet(upstream.filter((k): k is Key => k !== undefined));
      for (const c of candidates) {
        const item = builds.get(keyId(keyOf(c)));
        if (!item || (item.b as Build).phase !== "New") continue;
        // As in SQLite, a dependency that names no stored build does not hold a build back.
        const waiting = ((item.b as Build).dependsOn ?? []).some((ref) => {
          const k = this.refKey(ref);
          const up = k && deps.get(keyId(k));
          return up !== undefined && (up.b as Build).phase !== "Complete";
        });
        if (waiting) continue;
        const serial = c.entry.policy !== "Parallel";
        const xb = new Expr();
        const xr = new Expr();
        const xs = new Expr();
        const queuePath = xr.path(`queue.${c.number}`);
        await this.transact([
          {
            Update: {
              TableName: this.tableName,
              Key: keyOf(c),
              UpdateExpression: `SET ${xb.path("b.phase")} = ${xb.value("Pending")} ADD ${xb.path("ver")} ${xb.value(1)}`,
              ConditionExpression: `${xb.path("ver")} = ${xb.value(num(item.ver))} AND ${xb.path("b.phase")} = ${xb.value("New")}`,
              ...xb.attrs,
            },
          },
          {
            Update: {
              TableName: this.tableName,
              Key: K.run(c.run.ns, c.run.name),
              UpdateExpression: `REMOVE ${queuePath} ADD ${xr.path("active")} ${xr.value(1)}, ${xr.path("rev")} ${xr.value(1)}`,
              // For a Serial policy the decision above read this item: it must not have changed since.
              ConditionExpression: serial ? `${xr.path("rev")} = ${xr.value(c.run.rev)}` : `attribute_exists(${queuePath})`,
              ...xr.attrs,
            },
          },
          {
            Update: {
              TableName: this.tableName,
              Key: K.slots,
              UpdateExpression: `ADD ${xs.path("active")} ${xs.value(1)}`,
              ConditionExpression: `attribute_not_exists(${xs.path("active")}) OR ${xs.path("active")} < ${xs.value(maxActive)}`,
              ...xs.attrs,
            },
          },
        ]);
        return { ...this.toBuild(item), phase: "Pending" as const };
      }
      return undefined;
    });
  }

  async updateBuild(namespace: string, id: string, patch: Partial<Build>, ifPhase?: BuildPhase[]) {
    return this.retry(`update build "${namespace}/${id}"`, async () => {
      const key = this.buildKey(namespace, id);
      const item = key ? await this.get(key) : undefined;
      if (!key || !item) throw new NotFoundError(`build "${namespace}/${id}" not found`);
      const current = this.toBuild(item);
      if (ifPhase && !ifPhase.includes(current.phase)) {
        throw new ConflictError(`build "${namespace}/${id}" is ${current.phase}, not ${ifPhase.join(" or ")}`);
      }
      for (const k of IDENTITY) {
        if (patch[k] !== undefined && patch[k] !== current[k]) {
          throw new ValidationError(`build "${namespace}/${id}": ${k} cannot change (to ${String(patch[k])})`);
        }
      }
      const merged: Record<string, unknown> = { ...current, ...patch };
      for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
      const parsed = Build.safeParse(merged);
      if (!parsed.success) throw new ValidationError(`build "${namespace}/${id}": ${parsed.error.message}`);
      const next = parsed.data;

      const xb = new Expr();
      const set: string[] = [];
      const remove: string[] = [];
      for (const k of Object.keys(patch)) {
        if (!BUILD_FIELDS.has(k) || (IDENTITY as readonly string[]).includes(k)) continue;
        const v = (next as Record<string, unknown>)[k];
        if (v === undefined) remove.push(xb.path(`b.${k}`));
        else set.push(`${xb.path(`b.${k}`)} = ${xb.value(v)}`);
      }
      const buildUpdate = {
        TableName: this.tableName,
        Key: key,
        UpdateExpression: updateExpression(set, remove, [`${xb.path("ver")} ${xb.value(1)}`]),
        ConditionExpression: [
          `${xb.path("ver")} = ${xb.value(num(item.ver))}`,
          ...(ifPhase ? [`${xb.path("b.phase")} IN (${ifPhase.map((p) => xb.value(p)).join(", ")})`] : []),
        ].join(" AND "),
        ...xb.attrs,
      };

      // Derived state: the BuildConfig's queue and active count, the global active count, its recorded bases.
      const wasQueued = current.phase === "New";
      const isQueued = next.phase === "New";
      const activeDelta = Number(ACTIVE_PHASES.includes(next.phase)) - Number(ACTIVE_PHASES.includes(current.phase));
      const recording = await this.recordBases(next);
      if (wasQueued === isQueued && activeDelta === 0) {
        if (recording.length) await this.transact([{ Update: buildUpdate }, ...recording]);
        else await this.doc.send(new UpdateCommand(buildUpdate));
        return next;
      }
      const xr = new Expr();
      const runSet: string[] = [];
      const runRemove: string[] = [];
      const runAdd = [`${xr.path("rev")} ${xr.value(1)}`];
      if (wasQueued && !isQueued) runRemove.push(xr.path(`queue.${current.number}`));
      if (!wasQueued && isQueued) {
        const entry: QueueEntry = { seq: num(item.seq), policy: String(item.runPolicy ?? "Serial") };
        runSet.push(`${xr.path(`queue.${current.number}`)} = ${xr.value(entry)}`);
      }
      if (activeDelta) runAdd.push(`${xr.path("active")} ${xr.value(activeDelta)}`);
      const items: TransactItem[] = [
        { Update: buildUpdate },
        {
          Update: {
            TableName: this.tableName,
            Key: K.run(namespace, current.buildConfig),
            UpdateExpression: updateExpression(runSet, runRemove, runAdd),
            ...xr.attrs,
          },
        },
      ];
      if (activeDelta) {
        const xs = new Expr();
        items.push({
          Update: {
            TableName: this.tableName,
            Key: K.slots,
            UpdateExpression: `ADD ${xs.path("active")} ${xs.value(activeDelta)}`,
            ...xs.attrs,
          },
        });
      }
      await this.transact([...items, ...recording]);
      return next;
    });
  }

  async requeueInterrupted(now: string) {
    const active = await this.guard("find interrupted builds", async () => {
      const runs = (await this.queryPartition("RUN")).filter((r) => num(r.active) > 0);
      const perConfig = await mapLimit(runs, 8, (r) =>
        this.queryPartition(K.builds(String(r.ns), String(r.name)), {
          filter: (x) => `${x.path("b.phase")} IN (${ACTIVE_PHASES.map((p) => x.value(p)).join(", ")})`,
        }),
      );
      return perConfig.flat().sort((a, b) => num(a.seq) - num(b.seq));
    });
    const out: Build[] = [];
    for (const item of active) {
      const b = this.toBuild(item);
      try {
        out.push(
          await this.updateBuild(
            b.namespace,
            b.id,
            { phase: "New", message: `requeued at ${now} after an interrupted run`, startedAt: undefined },
            [...ACTIVE_PHASES],
          ),
        );
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e; // it finished or moved meanwhile
      }
    }
    return out;
  }

  // ---- subscribers and the outbox ------------------------------------------------------------------------------

  async addSubscriber(sub: Omit<Subscriber, "id" | "createdAt">, now: string) {
    return this.guard(`add subscriber ${sub.url}`, async () => {
      const seq = await this.reserveSeq(1);
      const x = new Expr();
      const ifNew = (name: string, v: unknown) => `${x.path(name)} = if_not_exists(${x.path(name)}, ${x.value(v)})`;
      const r = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: K.sub(sub.url),
          // One atomic upsert: a URL keeps its id and creation time, and takes the new secret and mode.
          UpdateExpression: `SET ${[
            `${x.path("url")} = ${x.value(sub.url)}`,
            `${x.path("secret")} = ${x.value(sub.secret)}`,
            `${x.path("mode")} = ${x.value(sub.mode)}`,
            ifNew("id", randomUUID()),
            ifNew("createdAt", now),
            ifNew("seq", seq),
          ].join(", ")}`,
          ReturnValues: "ALL_NEW",
          ...x.attrs,
        }),
      );
      const a = r.Attributes ?? {};
      return { ...sub, id: String(a.id), createdAt: String(a.createdAt) };
    });
  }

  private async subscriberItems(): Promise<Item[]> {
    const items = await this.queryPartition("SUB");
    return items.sort((a, b) => byteCompare(String(a.createdAt), String(b.createdAt)) || num(a.seq) - num(b.seq));
  }

  async listSubscribers() {
    return this.guard("list subscribers", async () =>
      (await this.subscriberItems()).map(
        (s): Subscriber => ({
          id: String(s.id),
          url: String(s.url),
          secret: String(s.secret),
          mode: s.mode === "structured" ? "structured" : "binary",
          createdAt: String(s.createdAt),
        }),
      ),
    );
  }

  async enqueueEvent(eventId: string, event: string, now: string) {
    return this.retry(`enqueue event ${eventId}`, async () => {
      const subs = await this.subscriberItems();
      if (!subs.length) return 0;
      const first = await this.reserveSeq(subs.length);
      await Promise.all(
        subs.map(async (s, i) => {
          const subscriberId = String(s.id);
          const seq = first + i;
          try {
            await this.transact([
              {
                Put: {
                  TableName: this.tableName,
                  Item: { ...K.eventGuard(eventId, subscriberId), seq, ...this.expiresAt(now) },
                  ConditionExpression: "attribute_not_exists(pk)",
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: { ...K.outbox(seq), seq, eventId, subscriberId, event, attempts: 0, nextAttemptAt: now },
                },
              },
            ]);
          } catch (e) {
            const reasons = (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
            if (errName(e) === "TransactionCanceledException" && reasons?.[0]?.Code === "ConditionalCheckFailed") return; // already queued
            throw e;
          }
        }),
      );
      return subs.length;
    });
  }

  private toOutbox(i: Item): OutboxDelivery {
    return {
      seq: num(i.seq),
      eventId: String(i.eventId),
      subscriberId: String(i.subscriberId),
      event: String(i.event),
      attempts: num(i.attempts),
      nextAttemptAt: String(i.nextAttemptAt),
    };
  }

  async dueDeliveries(now: string, limit: number) {
    return this.guard("list due deliveries", async () => {
      if (limit <= 0) return [];
      const items = await this.queryPartition("OUTBOX", {
        limit,
        filter: (x) => `${x.path("nextAttemptAt")} <= ${x.value(now)}`,
      });
      return items.map((i) => this.toOutbox(i));
    });
  }

  /** Move a pending outbox entry to `to`, with its attempt counted; nothing when it is no longer pending. */
  private async finishOutbox(seq: number, to: (entry: Item) => Item): Promise<void> {
    await this.retry(`finish outbox entry ${seq}`, async () => {
      const entry = await this.get(K.outbox(seq));
      if (!entry) return;
      const x = new Expr();
      await this.transact([
        {
          Delete: {
            TableName: this.tableName,
            Key: K.outbox(seq),
            ConditionExpression: `${x.path("attempts")} = ${x.value(num(entry.attempts))}`,
            ...x.attrs,
          },
        },
        { Put: { TableName: this.tableName, Item: to(entry) } },
      ]);
    });
  }

  async markDelivered(seq: number, now: string) {
    await this.finishOutbox(seq, (e) => ({
      ...e,
      ...K.done(String(e.subscriberId), seq),
      attempts: num(e.attempts) + 1,
      deliveredAt: now,
      ...this.expiresAt(now),
    }));
  }

  async markDeliveryFailed(seq: number, error: string, nextAttemptAt: string | undefined) {
    if (nextAttemptAt) {
      await this.guard(`retry outbox entry ${seq}`, async () => {
        const x = new Expr();
        try {
          await this.doc.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: K.outbox(seq),
              UpdateExpression: updateExpression(
                [`${x.path("lastError")} = ${x.value(error)}`, `${x.path("nextAttemptAt")} = ${x.value(nextAttemptAt)}`],
                [],
                [`${x.path("attempts")} ${x.value(1)}`],
              ),
              ConditionExpression: `attribute_exists(${x.path("pk")})`,
              ...x.attrs,
            }),
          );
        } catch (e) {
          if (errName(e) !== "ConditionalCheckFailedException") throw e; // no longer pending: nothing to do, as in SQLite
        }
      });
      return;
    }
    // The port gives no time here: a dead letter's TTL counts from when its last attempt was due.
    await this.finishOutbox(seq, (e) => ({
      ...e,
      ...K.dead(seq),
      attempts: num(e.attempts) + 1,
      lastError: error,
      ...this.expiresAt(String(e.nextAttemptAt)),
    }));
  }

  async deliveredEvents(subscriberId?: string) {
    return this.guard("count delivered events", async () => {
      const ids = subscriberId ? [subscriberId] : (await this.subscriberItems()).map((s) => String(s.id));
      let total = 0;
      for (const id of ids) {
        let start: Record<string, unknown> | undefined;
        do {
          const r = await this.doc.send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: "pk = :pk",
              ExpressionAttributeValues: { ":pk": `OUTBOX#DONE#${id}` },
              Select: "COUNT",
              ConsistentRead: true,
              ...(start ? { ExclusiveStartKey: start } : {}),
            }),
          );
          total += r.Count ?? 0;
          start = r.LastEvaluatedKey;
        } while (start);
      }
      return total;
    });
  }

  async close() {
    if (this.ownsClient) this.client.destroy();
  }
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
