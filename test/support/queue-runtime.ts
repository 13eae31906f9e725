/**
 * The runtime up to the queue, for tests that stop there: the shared router,
 * builds and planning over real SQLite in memory, no worker and no builder
 * (the runner refuses to run), and the CloudEvents it publishes kept in order.
 */
import { pino } from "pino";
import { SqliteStore } from "../../src/adapters/local/sqlite-store.js";
import type { CascadeEvent } from "../../src/core/events-out.js";
import type { ApiDeps } from "../../src/runtime/api.js";
import { Builds } from "../../src/runtime/builds.js";
import { Planning } from "../../src/runtime/planning.js";
import type { Store } from "../../src/ports/store.js";

export interface QueueRuntime<S extends Store = SqliteStore> {
  store: S;
  builds: Builds;
  planning: Planning;
  deps: ApiDeps;
  published: CascadeEvent[];
}

/** Over `store`, or a new in-memory SQLite store. */
export function queueRuntime<S extends Store = SqliteStore>(now = "2026-11-25T10:00:00Z", given?: S): QueueRuntime<S> {
  const store = given ?? (new SqliteStore(":memory:") as unknown as S);
  const clock = { now: () => new Date(now) };
  const log = pino({ level: "silent" });
  const published: CascadeEvent[] = [];
  const builds = new Builds({
    store,
    bus: { publish: async (e) => void published.push(...e) },
    runner: { run: () => Promise.reject(new Error("no builder in this test")) },
    clock,
    log,
    source: "urn:cascade:test",
    logDir: "/tmp/logs",
    registry: { auth: {}, insecure: [] },
  });
  const planning = new Planning({ store, builds, clock, log });
  return { store, builds, planning, published, deps: { store, builds, planning, clock, log } };
}
