/**
 * The local composition root: SQLite store, a Distribution registry child
 * process, the subscriber bus, the rootless buildah runner, the build worker
 * and the HTTP API, all under one CASCADE_HOME. No DI container: a plain
 * factory that wires adapters into the shared runtime.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Server } from "node:http";
import { pino, type Logger } from "pino";
import { ensureBuilderIdentity, type BuilderIdentity } from "../adapters/local/builder-user.js";
import { BuildahRunner } from "../adapters/local/buildah-runner.js";
import { createHttpServer, listen } from "../adapters/local/http-server.js";
import { startRegistry, type RunningRegistry } from "../adapters/local/registry-process.js";
import { SqliteStore } from "../adapters/local/sqlite-store.js";
import { FileSecretStore } from "../adapters/local/file-secret-store.js";
import { GitChanges } from "../adapters/local/git-changes.js";
import { createDistributionClient, DistributionClient } from "../adapters/registry/distribution-client.js";
import { pruneCaches } from "./cache-prune.js";
import { BasePoller } from "./base-poller.js";
import { SubscriberBus } from "../adapters/local/subscriber-bus.js";
import { systemClock, type Clock } from "../ports/clock.js";
import type { ApiDeps } from "./api.js";
import { Builds } from "./builds.js";
import { Planning } from "./planning.js";
import { randomBytes } from "node:crypto";

export interface LocalOptions {
  home: string;
  /** API port; 0 picks a free one. */
  port: number;
  registryPort: number;
  host?: string;
  log?: Logger;
  clock?: Clock;
  maxActive?: number;
  /** The shared layer cache: on unless `enabled` is false; `ttl` a Go duration (`168h`). */
  cache?: { enabled?: boolean; ttl?: string };
  /** Called when a builder process starts (tests inspect /proc). */
  onBuilderStart?: (pid: number, workDir: string) => void;
}

export interface LocalCascade {
  url: string;
  port: number;
  home: string;
  registry: RunningRegistry;
  store: SqliteStore;
  builds: Builds;
  bus: SubscriberBus;
  identity: BuilderIdentity;
  server: Server;
  planning: Planning;
  poller: BasePoller;
  /** Secrets and ConfigMaps under CASCADE_HOME/secrets (what `cascade secret` writes). */
  secrets: FileSecretStore;
  log: Logger;
  stop(): Promise<void>;
}

/** dist/builder/cascade-builder.mjs, next to this module's compiled tree or built from source. */
export function builderBundlePath(): string {
  if (process.env.CASCADE_BUILDER_BUNDLE) return resolve(process.env.CASCADE_BUILDER_BUNDLE);
  const here = fileURLToPath(new URL(".", import.meta.url));
  // Compiled: dist/src/runtime -> dist/builder. From source (vitest): src/runtime -> dist/builder.
  return here.includes(`${"/dist/"}`)
    ? resolve(here, "../../builder/cascade-builder.mjs")
    : resolve(here, "../../dist/builder/cascade-builder.mjs");
}

export function defaultLogger(level = process.env.CASCADE_LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: undefined }, pino.destination(2));
}

export async function startLocal(o: LocalOptions): Promise<LocalCascade> {
  const home = resolve(o.home);
  mkdirSync(home, { recursive: true, mode: 0o755 });
  const log = o.log ?? defaultLogger();
  const clock = o.clock ?? systemClock;
  const identity = ensureBuilderIdentity();
  const store = SqliteStore.open(home);
  const secrets = new FileSecretStore(home);
  let registry: RunningRegistry | undefined;
  let server: Server | undefined;
  try {
    // The API listens first: the registry's notifications need its address.
    // Until the worker is wired in, the router answers 503 (see route()).
    const deps: ApiDeps = {
      store,
      clock,
      log,
      registryToken: randomBytes(24).toString("hex"),
      secrets,
      builds: undefined as unknown as Builds,
      planning: undefined as unknown as Planning,
    };
    server = createHttpServer(deps);
    const host = o.host ?? "127.0.0.1";
    const port = await listen(server, o.port, host);
    const url = `http://${host}:${port}`;
    registry = await startRegistry({
      dir: join(home, "registry"),
      port: o.registryPort,
      notifications: [{ url: `${url}/hooks/registry`, headers: { Authorization: `Bearer ${deps.registryToken}` } }],
    });
    const bus = new SubscriberBus({ store, clock, log });
    const runner = new BuildahRunner({
      identity,
      builderBundle: builderBundlePath(),
      ...(o.onBuilderStart ? { onStart: o.onBuilderStart } : {}),
    });
    const localAuth = { username: registry.credentials.username, password: registry.credentials.password };
    const builds = new Builds({
      store,
      bus,
      runner,
      clock,
      log,
      source: `urn:cascade:local:${url}`,
      logDir: join(home, "logs"),
      registry: {
        auth: { [registry.hostPort]: localAuth, [`localhost:${o.registryPort}`]: localAuth },
        insecure: [registry.hostPort, `localhost:${o.registryPort}`],
        defaultRegistry: registry.hostPort,
      },
      maxActive: o.maxActive ?? Number(process.env.CASCADE_MAX_BUILDS ?? 2),
      ...(o.cache ? { cache: o.cache } : {}),
      secrets,
    });
    const planning = new Planning({ store, builds, clock, log });
    builds.onFinished = (b) => planning.afterBuild(b);
    builds.beforeStart = (b) => planning.unchangedInputs(b);
    deps.builds = builds;
    deps.planning = planning;
    deps.sourceChanges = new GitChanges(log);
    if (o.cache?.ttl) deps.cacheTtl = o.cache.ttl;
    const admin = new DistributionClient({ credentialsFor: (h) => builds.registryAuth[h] });
    deps.pruneCaches = (olderThanMs) =>
      pruneCaches({ store, registry: admin, resolve: (ref, ns) => builds.resolveRef(ref, ns), now: clock.now() }, olderThanMs);
    await planning.settleOrphans();
    // External bases (followed, produced by no BuildConfig) are polled for new digests.
    const poller = new BasePoller({
      registry: createDistributionClient({ credentialsFor: (h) => builds.registryAuth[h] }),
      clock,
      log,
      images: () => planning.externalBases(),
      initial: await planning.lastBaseDigests(),
      intervalFor: () => Number(process.env.CASCADE_POLL_INTERVAL_MS ?? 5 * 60_000),
      onChange: async (image, digest) => {
        await planning.imageUpdated(image, digest, "base image poll");
      },
    });
    poller.start();
    bus.start();
    builds.start();
    const reg = registry;
    log.info({ api: url, registry: reg.url, home, builder: identity.name }, "cascade is up");
    return {
      url,
      port,
      home,
      registry: reg,
      store,
      builds,
      bus,
      identity,
      server: server!,
      planning,
      poller,
      secrets,
      log,
      async stop() {
        const srv = server!;
        const closed = new Promise<void>((r) => srv.close(() => r()));
        srv.closeAllConnections();
        await closed;
        await poller.stop();
        await builds.stop();
        await bus.stop();
        await reg.stop();
        await store.close();
      },
    };
  } catch (e) {
    server?.close();
    await registry?.stop();
    await store.close();
    throw e;
  }
}
