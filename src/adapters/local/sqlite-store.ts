/**
 * The local Store: SQLite in WAL mode (better-sqlite3), with numbered
 * migrations kept in `user_version`. Every multi-row change runs in one
 * transaction, so a crash or restart loses nothing that was acknowledged.
 */
import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Build, BuildPhase } from "../../core/build.js";
import type { BuildConfig } from "../../core/buildconfig.js";
import { ConflictError, NotFoundError, ValidationError } from "../../core/errors.js";
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

const MIGRATIONS: string[] = [
  // 1: BuildConfigs, builds (the queue is the set of builds in phase New), deliveries.
  `CREATE TABLE buildconfigs (
     namespace TEXT NOT NULL, name TEXT NOT NULL, config TEXT NOT NULL,
     last_version INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
     PRIMARY KEY (namespace, name));
   CREATE TABLE builds (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     namespace TEXT NOT NULL, id TEXT NOT NULL, buildconfig TEXT NOT NULL, number INTEGER NOT NULL,
     phase TEXT NOT NULL, run_policy TEXT NOT NULL, record TEXT NOT NULL,
     UNIQUE (namespace, id));
   CREATE INDEX builds_phase ON builds (phase, seq);
   CREATE INDEX builds_bc ON builds (namespace, buildconfig, number);
   CREATE TABLE deliveries (
     provider TEXT NOT NULL, id TEXT NOT NULL, build_ids TEXT NOT NULL, received_at TEXT NOT NULL,
     PRIMARY KEY (provider, id));`,
  // 2: subscribers and the event outbox.
  `CREATE TABLE subscribers (
     id TEXT PRIMARY KEY, url TEXT NOT NULL UNIQUE, secret TEXT NOT NULL, mode TEXT NOT NULL, created_at TEXT NOT NULL);
   CREATE TABLE outbox (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, subscriber_id TEXT NOT NULL,
     event TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL,
     status TEXT NOT NULL DEFAULT 'pending', last_error TEXT, delivered_at TEXT,
     UNIQUE (event_id, subscriber_id));
   CREATE INDEX outbox_due ON outbox (status, next_attempt_at);`,
  // 3: what the planner's graph is made of: each BuildConfig's recorded bases (from its newest build
  // that recorded any, by number) and a revision bumped whenever a BuildConfig or its recorded bases change.
  `ALTER TABLE buildconfigs ADD COLUMN recorded_bases TEXT;
   ALTER TABLE buildconfigs ADD COLUMN recorded_number INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE revisions (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
   INSERT INTO revisions (name, value) VALUES ('planning', 1);
   UPDATE buildconfigs SET (recorded_bases, recorded_number) = (
     SELECT (SELECT json_group_array(json_extract(x.value, '$.name')) FROM json_each(b.record, '$.inputs.bases') x), b.number
     FROM builds b
     WHERE b.namespace = buildconfigs.namespace AND b.buildconfig = buildconfigs.name
       AND json_array_length(b.record, '$.inputs.bases') > 0
     ORDER BY b.number DESC LIMIT 1)
   WHERE EXISTS (SELECT 1 FROM builds b WHERE b.namespace = buildconfigs.namespace AND b.buildconfig = buildconfigs.name
     AND json_array_length(b.record, '$.inputs.bases') > 0);`,
];

interface BuildRow {
  record: string;
}

interface ConfigRow {
  config: string;
  last_version: number;
  created_at: string;
  updated_at: string;
  recorded_bases: string | null;
}

export class SqliteStore implements Store {
  readonly db: Database.Database;

  constructor(readonly file: string) {
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("foreign_keys = ON");
    this.migrate();
  }

  static open(home: string): SqliteStore {
    return new SqliteStore(join(home, "cascade.db"));
  }

  get schemaVersion(): number {
    return this.db.pragma("user_version", { simple: true }) as number;
  }

  private migrate(): void {
    const current = this.schemaVersion;
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  async putBuildConfig(config: BuildConfig, now: string) {
    const ns = config.metadata.namespace ?? "default";
    const name = config.metadata.name;
    return this.db.transaction(() => {
      const row = this.db
        .prepare("SELECT last_version, created_at, recorded_bases FROM buildconfigs WHERE namespace = ? AND name = ?")
        .get(ns, name) as { last_version: number; created_at: string; recorded_bases: string | null } | undefined;
      const json = JSON.stringify(config);
      if (row) {
        this.db
          .prepare("UPDATE buildconfigs SET config = ?, updated_at = ? WHERE namespace = ? AND name = ?")
          .run(json, now, ns, name);
      } else {
        this.db
          .prepare(
            "INSERT INTO buildconfigs (namespace, name, config, last_version, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?)",
          )
          .run(ns, name, json, now, now);
      }
      this.bumpPlanningRevision();
      const stored: StoredBuildConfig = {
        config,
        lastVersion: row?.last_version ?? 0,
        createdAt: row?.created_at ?? now,
        updatedAt: now,
        ...(row?.recorded_bases ? { recordedBases: JSON.parse(row.recorded_bases) as string[] } : {}),
      };
      return { created: !row, stored };
    })();
  }

  private toStored(r: ConfigRow): StoredBuildConfig {
    return {
      config: JSON.parse(r.config) as BuildConfig,
      lastVersion: r.last_version,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      ...(r.recorded_bases ? { recordedBases: JSON.parse(r.recorded_bases) as string[] } : {}),
    };
  }

  async getBuildConfig(namespace: string, name: string) {
    const r = this.db.prepare("SELECT * FROM buildconfigs WHERE namespace = ? AND name = ?").get(namespace, name) as ConfigRow | undefined;
    return r ? this.toStored(r) : undefined;
  }

  async listBuildConfigs() {
    const rows = this.db.prepare("SELECT * FROM buildconfigs ORDER BY namespace, name").all() as ConfigRow[];
    return rows.map((r) => this.toStored(r));
  }

  async planningRevision() {
    return (this.db.prepare("SELECT value FROM revisions WHERE name = 'planning'").get() as { value: number }).value;
  }

  private bumpPlanningRevision(): void {
    this.db.prepare("UPDATE revisions SET value = value + 1 WHERE name = 'planning'").run();
  }

  /** A build now has these bases: they become its BuildConfig's recorded bases unless a newer build recorded some. */
  private recordBases(build: Build): void {
    const names = recordedBaseNames(build);
    if (!names) return;
    const row = this.db
      .prepare("SELECT recorded_bases, recorded_number FROM buildconfigs WHERE namespace = ? AND name = ?")
      .get(build.namespace, build.buildConfig) as { recorded_bases: string | null; recorded_number: number } | undefined;
    if (!row || build.number < row.recorded_number) return;
    const json = JSON.stringify(names);
    if (json === row.recorded_bases && build.number === row.recorded_number) return;
    this.db
      .prepare("UPDATE buildconfigs SET recorded_bases = ?, recorded_number = ? WHERE namespace = ? AND name = ?")
      .run(json, build.number, build.namespace, build.buildConfig);
    if (json !== row.recorded_bases) this.bumpPlanningRevision();
  }

  async queuedBuildIds(refs: readonly BuildConfigRef[]) {
    const out = new Map<string, string>();
    if (refs.length > 64) {
      // Many BuildConfigs: one pass over the queue (phase index) costs the queued builds, not the refs.
      const wanted = new Set(refs.map(refKey));
      const rows = this.db
        .prepare("SELECT namespace, buildconfig, id, number FROM builds WHERE phase = 'New' ORDER BY namespace, buildconfig, number DESC")
        .all() as { namespace: string; buildconfig: string; id: string }[];
      for (const row of rows) {
        const key = `${row.namespace}/${row.buildconfig}`;
        if (wanted.has(key) && !out.has(key)) out.set(key, row.id);
      }
      return out;
    }
    const newest = this.db.prepare(
      "SELECT id FROM builds WHERE namespace = ? AND buildconfig = ? AND phase = 'New' ORDER BY number DESC LIMIT 1",
    );
    for (const r of refs) {
      const row = newest.get(r.namespace, r.name) as { id: string } | undefined;
      if (row) out.set(refKey(r), row.id);
    }
    return out;
  }

  async recentBuilds(refs: readonly BuildConfigRef[], limit: number) {
    const out = new Map<string, RecentBuilds>();
    const recent = this.db.prepare("SELECT record FROM builds WHERE namespace = ? AND buildconfig = ? ORDER BY number DESC LIMIT ?");
    const complete = this.db.prepare(
      "SELECT record FROM builds WHERE namespace = ? AND buildconfig = ? AND phase = 'Complete' ORDER BY number DESC LIMIT 1",
    );
    for (const r of refs) {
      const builds = (recent.all(r.namespace, r.name, Math.max(0, limit)) as BuildRow[]).map((x) => JSON.parse(x.record) as Build);
      let lastComplete = builds.find((b) => b.phase === "Complete");
      if (!lastComplete) {
        const row = complete.get(r.namespace, r.name) as BuildRow | undefined;
        if (row) lastComplete = JSON.parse(row.record) as Build;
      }
      out.set(refKey(r), { recent: builds, ...(lastComplete ? { lastComplete } : {}) });
    }
    return out;
  }

  async deliveryBuilds(delivery: Delivery): Promise<Build[] | undefined> {
    return this.deliveryBuildsSync(delivery);
  }

  private deliveryBuildsSync(delivery: Delivery): Build[] | undefined {
    const seen = this.db
      .prepare("SELECT build_ids FROM deliveries WHERE provider = ? AND id = ?")
      .get(delivery.provider, delivery.id) as { build_ids: string } | undefined;
    if (!seen) return undefined;
    const ids = JSON.parse(seen.build_ids) as string[];
    return ids.flatMap((ref) => {
      const b = this.findBuildSync(ref);
      return b ? [b] : [];
    });
  }

  async enqueueBuilds(requests: BuildRequest[], opts: { now: string; delivery?: Delivery; logDir: string }) {
    return this.db.transaction(() => {
      if (opts.delivery) {
        const previous = this.deliveryBuildsSync(opts.delivery);
        if (previous) return { builds: previous, duplicate: true };
      }
      const builds: Build[] = [];
      for (const req of requests) {
        const bcRow = this.db
          .prepare("SELECT config, last_version FROM buildconfigs WHERE namespace = ? AND name = ?")
          .get(req.namespace, req.buildConfig) as { config: string; last_version: number } | undefined;
        if (!bcRow) throw new NotFoundError(`buildconfig "${req.namespace}/${req.buildConfig}" not found`);
        const config = JSON.parse(bcRow.config) as BuildConfig;
        const number = bcRow.last_version + 1;
        // The counter is written before the builder is launched, in the same
        // transaction as the queued build: this is what stops a race from
        // starting two builds with one number.
        this.db
          .prepare("UPDATE buildconfigs SET last_version = ? WHERE namespace = ? AND name = ? AND last_version = ?")
          .run(number, req.namespace, req.buildConfig, bcRow.last_version);
        const build = buildFromRequest(req, number, builds, opts);
        const id = build.id;
        this.db
          .prepare(
            "INSERT INTO builds (namespace, id, buildconfig, number, phase, run_policy, record) VALUES (?, ?, ?, ?, 'New', ?, ?)",
          )
          .run(req.namespace, id, req.buildConfig, number, config.spec?.runPolicy ?? "Serial", JSON.stringify(build));
        builds.push(build);
      }
      if (opts.delivery) {
        this.db
          .prepare("INSERT INTO deliveries (provider, id, build_ids, received_at) VALUES (?, ?, ?, ?)")
          .run(
            opts.delivery.provider,
            opts.delivery.id,
            JSON.stringify(builds.map((b) => `${b.namespace}/${b.id}`)),
            opts.now,
          );
      }
      return { builds, duplicate: false };
    })();
  }

  async recordDelivery(delivery: Delivery, now: string) {
    return this.db.transaction(() => {
      const previous = this.deliveryBuildsSync(delivery);
      if (previous) return { duplicate: true, buildIds: previous.map((b) => b.id) };
      this.db
        .prepare("INSERT INTO deliveries (provider, id, build_ids, received_at) VALUES (?, ?, '[]', ?)")
        .run(delivery.provider, delivery.id, now);
      return { duplicate: false, buildIds: [] };
    })();
  }

  async getBuild(namespace: string, id: string) {
    const r = this.db.prepare("SELECT record FROM builds WHERE namespace = ? AND id = ?").get(namespace, id) as
      | BuildRow
      | undefined;
    return r ? (JSON.parse(r.record) as Build) : undefined;
  }

  private findBuildSync(ref: string): Build | undefined {
    const slash = ref.indexOf("/");
    if (slash >= 0) {
      const r = this.db
        .prepare("SELECT record FROM builds WHERE namespace = ? AND id = ?")
        .get(ref.slice(0, slash), ref.slice(slash + 1)) as BuildRow | undefined;
      return r ? (JSON.parse(r.record) as Build) : undefined;
    }
    const rows = this.db.prepare("SELECT record FROM builds WHERE id = ? LIMIT 2").all(ref) as BuildRow[];
    if (rows.length > 1) {
      throw new ValidationError(`build id "${ref}" exists in several namespaces; name it as NAMESPACE/${ref}`);
    }
    return rows[0] ? (JSON.parse(rows[0].record) as Build) : undefined;
  }

  async findBuild(ref: string) {
    return this.findBuildSync(ref);
  }

  async listBuilds(filter: BuildFilter = {}) {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.namespace) (where.push("namespace = ?"), args.push(filter.namespace));
    if (filter.buildConfig) (where.push("buildconfig = ?"), args.push(filter.buildConfig));
    if (filter.phases?.length) {
      where.push(`phase IN (${filter.phases.map(() => "?").join(",")})`);
      args.push(...filter.phases);
    }
    const sql = `SELECT record FROM builds ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
    args.push(filter.limit ?? 1000);
    return (this.db.prepare(sql).all(...args) as BuildRow[]).map((r) => JSON.parse(r.record) as Build);
  }

  async claimNextBuild(_now: string, maxActive: number) {
    return this.db.transaction(() => {
      const active = (this.db.prepare("SELECT COUNT(*) AS n FROM builds WHERE phase IN ('Pending','Running')").get() as {
        n: number;
      }).n;
      if (active >= maxActive) return undefined;
      // Oldest queued build whose BuildConfig allows it to start: Parallel
      // always; Serial and SerialLatestOnly only when no build of the same
      // BuildConfig is active or queued ahead of it.
      const row = this.db
        .prepare(
          `SELECT b.namespace, b.id, b.record FROM builds b
           WHERE b.phase = 'New' AND (b.run_policy = 'Parallel' OR NOT EXISTS (
             SELECT 1 FROM builds o WHERE o.namespace = b.namespace AND o.buildconfig = b.buildconfig
               AND (o.phase IN ('Pending','Running') OR (o.phase = 'New' AND o.number < b.number))))
             AND NOT EXISTS (
               SELECT 1 FROM json_each(json_extract(b.record, '$.dependsOn')) d
               JOIN builds u ON u.namespace || '/' || u.id = d.value
               WHERE u.phase <> 'Complete')
           ORDER BY b.seq LIMIT 1`,
        )
        .get() as { namespace: string; id: string; record: string } | undefined;
      if (!row) return undefined;
      const build = { ...(JSON.parse(row.record) as Build), phase: "Pending" as const };
      this.db
        .prepare("UPDATE builds SET phase = 'Pending', record = ? WHERE namespace = ? AND id = ? AND phase = 'New'")
        .run(JSON.stringify(build), row.namespace, row.id);
      return build;
    })();
  }

  async updateBuild(namespace: string, id: string, patch: Partial<Build>, ifPhase?: BuildPhase[]) {
    return this.db.transaction(() => {
      const r = this.db.prepare("SELECT record FROM builds WHERE namespace = ? AND id = ?").get(namespace, id) as
        | BuildRow
        | undefined;
      if (!r) throw new NotFoundError(`build "${namespace}/${id}" not found`);
      const current = JSON.parse(r.record) as Build;
      if (ifPhase && !ifPhase.includes(current.phase)) {
        throw new ConflictError(`build "${namespace}/${id}" is ${current.phase}, not ${ifPhase.join(" or ")}`);
      }
      const next: Build = { ...current, ...patch };
      this.db
        .prepare("UPDATE builds SET phase = ?, record = ? WHERE namespace = ? AND id = ?")
        .run(next.phase, JSON.stringify(next), namespace, id);
      this.recordBases(next);
      return next;
    })();
  }

  async requeueInterrupted(now: string) {
    return this.db.transaction(() => {
      const rows = this.db
        .prepare("SELECT namespace, id, record FROM builds WHERE phase IN ('Pending','Running') ORDER BY seq")
        .all() as { namespace: string; id: string; record: string }[];
      const out: Build[] = [];
      for (const row of rows) {
        const b = JSON.parse(row.record) as Build;
        const next: Build = { ...b, phase: "New", message: `requeued at ${now} after an interrupted run` };
        delete next.startedAt;
        this.db
          .prepare("UPDATE builds SET phase = 'New', record = ? WHERE namespace = ? AND id = ?")
          .run(JSON.stringify(next), row.namespace, row.id);
        out.push(next);
      }
      return out;
    })();
  }

  async addSubscriber(sub: Omit<Subscriber, "id" | "createdAt">, now: string) {
    const existing = this.db.prepare("SELECT * FROM subscribers WHERE url = ?").get(sub.url) as
      | { id: string; url: string; secret: string; mode: string; created_at: string }
      | undefined;
    if (existing) {
      this.db.prepare("UPDATE subscribers SET secret = ?, mode = ? WHERE id = ?").run(sub.secret, sub.mode, existing.id);
      return { ...sub, id: existing.id, createdAt: existing.created_at };
    }
    const id = randomUUID();
    this.db
      .prepare("INSERT INTO subscribers (id, url, secret, mode, created_at) VALUES (?, ?, ?, ?, ?)")
      .run(id, sub.url, sub.secret, sub.mode, now);
    return { ...sub, id, createdAt: now };
  }

  async listSubscribers() {
    const rows = this.db.prepare("SELECT * FROM subscribers ORDER BY created_at").all() as {
      id: string;
      url: string;
      secret: string;
      mode: "binary" | "structured";
      created_at: string;
    }[];
    return rows.map((r) => ({ id: r.id, url: r.url, secret: r.secret, mode: r.mode, createdAt: r.created_at }));
  }

  async enqueueEvent(eventId: string, event: string, now: string) {
    return this.db.transaction(() => {
      const subs = this.db.prepare("SELECT id FROM subscribers ORDER BY created_at, rowid").all() as { id: string }[];
      const insert = this.db.prepare(
        "INSERT OR IGNORE INTO outbox (event_id, subscriber_id, event, next_attempt_at) VALUES (?, ?, ?, ?)",
      );
      for (const s of subs) insert.run(eventId, s.id, event, now);
      return subs.length;
    })();
  }

  async dueDeliveries(now: string, limit: number) {
    const rows = this.db
      .prepare(
        "SELECT seq, event_id, subscriber_id, event, attempts, next_attempt_at FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY seq LIMIT ?",
      )
      .all(now, limit) as {
      seq: number;
      event_id: string;
      subscriber_id: string;
      event: string;
      attempts: number;
      next_attempt_at: string;
    }[];
    return rows.map(
      (r): OutboxDelivery => ({
        seq: r.seq,
        eventId: r.event_id,
        subscriberId: r.subscriber_id,
        event: r.event,
        attempts: r.attempts,
        nextAttemptAt: r.next_attempt_at,
      }),
    );
  }

  async markDelivered(seq: number, now: string) {
    this.db
      .prepare("UPDATE outbox SET status = 'delivered', delivered_at = ?, attempts = attempts + 1 WHERE seq = ?")
      .run(now, seq);
  }

  async markDeliveryFailed(seq: number, error: string, nextAttemptAt: string | undefined) {
    if (nextAttemptAt) {
      this.db
        .prepare("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE seq = ?")
        .run(error, nextAttemptAt, seq);
    } else {
      this.db
        .prepare("UPDATE outbox SET attempts = attempts + 1, last_error = ?, status = 'dead' WHERE seq = ?")
        .run(error, seq);
    }
  }

  async deliveredEvents(subscriberId?: string) {
    const r = (subscriberId
      ? this.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status = 'delivered' AND subscriber_id = ?").get(subscriberId)
      : this.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status = 'delivered'").get()) as { n: number };
    return r.n;
  }

  async close() {
    if (this.db.open) this.db.close();
  }
}

