/**
 * The build lifecycle, shared by every runtime: queue builds, run them
 * through the BuilderRunner, record each transition and emit its CloudEvent.
 * Wiring (which store, bus and runner) happens in the composition roots.
 */
import { randomUUID } from "node:crypto";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { BuilderJob, type BuilderJobInput } from "../builder/job.js";
import { isTerminal, type Build, type BuildInputs } from "../core/build.js";
import { allowedScriptsUrlSchemes, type BuildConfig, type BuildVolume, type ObjectReference } from "../core/buildconfig.js";
import { ConflictError, NotFoundError, ValidationError } from "../core/errors.js";
import { publishedEvent, transitionEvent, type CascadeEvent } from "../core/events-out.js";
import { parseImageRef, resolveImageStreamTag } from "../core/image-ref.js";
import type { BuilderRunner } from "../ports/builder-runner.js";
import type { Clock } from "../ports/clock.js";
import type { EventBus } from "../ports/event-bus.js";
import type { BuildRequest, Delivery, Store } from "../ports/store.js";
import type { SecretStore } from "../ports/secret-store.js";
import { makeRedactor } from "../core/redact.js";
import { secretValues } from "../builder/build-inputs.js";
import { resolveJobSecrets } from "./job-secrets.js";
import { applyReport, type ReportedBuild } from "./build-reports.js";

export interface RegistryAccess {
  /** Credentials per registry host (`host:port`). */
  auth: Record<string, { username: string; password: string }>;
  /** Hosts served over plain http (loopback). */
  insecure: string[];
  /** Registry that ImageStreamTag outputs resolve into (`host:port`). */
  defaultRegistry?: string;
  /** `ns/name:tag` or `name:tag` -> image reference, for ImageStreamTag inputs. */
  imageStreams?: Record<string, string>;
}

export interface BuildsOptions {
  store: Store;
  bus: EventBus;
  runner: BuilderRunner;
  clock: Clock;
  log: Logger;
  /** CloudEvents `source`: this Cascade instance. */
  source: string;
  logDir: string;
  registry: RegistryAccess;
  /** Global concurrency limit. */
  maxActive?: number;
  /** Default completion deadline (OpenShift: one week). */
  defaultDeadlineSeconds?: number;
  /**
   * The shared layer cache: on unless `enabled` is false; `ttl` (a Go duration,
   * e.g. `168h`) makes builds ignore cache entries older than that.
   */
  cache?: { enabled?: boolean; ttl?: string };
  /** Where the Secrets and ConfigMaps that BuildConfigs name come from. */
  secrets?: SecretStore;
}

/** OpenShift build volumes as the builder job carries them (names only; the data is filled in just before the run). */
function jobVolumes(volumes: readonly BuildVolume[] | undefined) {
  return (volumes ?? []).map((v) => ({
    name: v.name,
    kind: v.source.type,
    source: v.source.type === "Secret" ? v.source.secret!.secretName : v.source.configMap!.name,
    destinationPaths: v.mounts.map((m) => m.destinationPath),
  }));
}

/** The namespace's layer cache repository, in the registry of the build's output. */
export function cacheRepository(outputRegistry: string, namespace: string): string {
  return `${outputRegistry}/cascade-cache/${namespace}`;
}

const ONE_WEEK = 7 * 24 * 3600;

/** Where secrets come from when none is configured: nowhere, so a BuildConfig that names one fails with MissingSecret. */
const NO_SECRETS: SecretStore = {
  get: async () => undefined,
  list: async () => [],
  put: async () => {
    throw new ValidationError("no secret store is configured");
  },
  delete: async () => false,
};

/**
 * OpenShift's `BUILD` variable for Custom builders: the Build object as the
 * API server would show it, with the BuildConfig's source, strategy and
 * output (secret references by name only, never their values).
 */
export function openShiftBuild(build: Build, config: BuildConfig) {
  return {
    kind: "Build",
    apiVersion: "build.openshift.io/v1",
    metadata: {
      name: build.id,
      namespace: build.namespace,
      labels: { buildconfig: build.buildConfig, "openshift.io/build-config.name": build.buildConfig },
      annotations: { "openshift.io/build-config.name": build.buildConfig, "openshift.io/build.number": String(build.number) },
      creationTimestamp: build.createdAt,
    },
    spec: {
      serviceAccount: "builder",
      source: config.spec.source ?? {},
      ...(build.inputs.source?.commit ? { revision: { type: "Git", git: { commit: build.inputs.source.commit } } } : {}),
      strategy: config.spec.strategy,
      output: config.spec.output ?? {},
      triggeredBy: build.causes.map((c) => ({ message: c.message })),
    },
    status: { phase: "Running", config: { kind: "BuildConfig", namespace: build.namespace, name: build.buildConfig } },
  };
}

export class Builds {
  private readonly active = new Map<string, AbortController>();
  private readonly finished = new Set<() => void>();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** Follow-up after a build ends (chains: publish its image, or leave its downstream not run). */
  onFinished: ((b: Build) => Promise<void>) | undefined;
  /**
   * Asked as a claimed build is about to start: a reason not to run it (a
   * chain build whose upstreams changed nothing it uses). It is then recorded
   * Cancelled with that reason and message, and never reaches the builder.
   */
  beforeStart: ((b: Build) => Promise<{ reason: string; message: string } | undefined>) | undefined;

  constructor(private readonly o: BuildsOptions) {}

  private async followUp(b: Build): Promise<void> {
    try {
      await this.onFinished?.(b);
    } catch (e) {
      this.o.log.error({ err: e, build: `${b.namespace}/${b.id}` }, "follow-up after build failed");
    }
  }

  private now(): string {
    return this.o.clock.now().toISOString();
  }

  private ctx() {
    return { id: randomUUID(), source: this.o.source, time: this.now() };
  }

  async emit(build: Build): Promise<void> {
    const events: CascadeEvent[] = [];
    const t = transitionEvent(build, this.ctx());
    if (t) events.push(t);
    const p = publishedEvent(build, this.ctx());
    if (p) events.push(p);
    if (events.length) await this.o.bus.publish(events);
  }

  /** Queue builds (atomically with the delivery record) and emit `queued` for each. */
  async enqueue(requests: BuildRequest[], delivery?: Delivery): Promise<{ builds: Build[]; duplicate: boolean }> {
    const res = await this.o.store.enqueueBuilds(requests, { now: this.now(), logDir: this.o.logDir, ...(delivery ? { delivery } : {}) });
    if (!res.duplicate) {
      for (const b of res.builds) {
        this.o.log.info({ build: `${b.namespace}/${b.id}`, cause: b.causes[0]?.type }, "build queued");
        await this.emit(b);
        await this.supersede(b);
      }
      this.wake?.();
    }
    return res;
  }

  /** `SerialLatestOnly`: a newer queued build cancels the older ones still waiting (never a running one). */
  private async supersede(newer: Build): Promise<void> {
    const stored = await this.o.store.getBuildConfig(newer.namespace, newer.buildConfig);
    if (stored?.config.spec.runPolicy !== "SerialLatestOnly") return;
    const older = await this.o.store.listBuilds({ namespace: newer.namespace, buildConfig: newer.buildConfig, phases: ["New", "Pending"] });
    for (const b of older) {
      if (b.number >= newer.number) continue;
      try {
        const next = await this.o.store.updateBuild(
          b.namespace,
          b.id,
          { phase: "Cancelled", reason: "Cancelled", message: `superseded by ${newer.id} (runPolicy SerialLatestOnly)`, completedAt: this.now() },
          ["New", "Pending"],
        );
        await this.emit(next);
        await this.followUp(next);
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
      }
    }
  }

  async cancel(ref: string): Promise<Build> {
    const b = await this.o.store.findBuild(ref);
    if (!b) throw new NotFoundError(`build "${ref}" not found`);
    if (isTerminal(b.phase)) throw new ConflictError(`build "${b.namespace}/${b.id}" already finished (${b.phase})`);
    const key = `${b.namespace}/${b.id}`;
    const running = this.active.get(key);
    if (running) {
      running.abort(new Error("cancelled"));
      return b;
    }
    const now = this.now();
    const next = await this.o.store.updateBuild(
      b.namespace,
      b.id,
      { phase: "Cancelled", reason: "Cancelled", message: "Cancelled before it started", completedAt: now },
      ["New", "Pending"],
    );
    await this.emit(next);
    await this.followUp(next);
    return next;
  }

  /** Start the worker loop: claim queued builds up to the concurrency limit and run them. */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = (async () => {
      for (await this.o.store.requeueInterrupted(this.now()); !this.stopping; ) {
        const build = await this.o.store.claimNextBuild(this.now(), this.o.maxActive ?? 2);
        if (build) {
          void this.execute(build).catch((e) => this.o.log.error({ err: e, build: build.id }, "build execution failed"));
          continue;
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    for (const c of this.active.values()) c.abort(new Error("shutting down"));
    while (this.active.size > 0) await new Promise<void>((r) => this.finished.add(r));
  }

  /** Credentials per registry host, for the registry client. */
  get registryAuth(): Readonly<Record<string, { username: string; password: string }>> {
    return this.o.registry.auth;
  }

  /** Resolve an ObjectReference (DockerImage or ImageStreamTag) to an image reference. */
  resolveRef(ref: ObjectReference, namespace: string): string {
    if (ref.kind === "DockerImage") return ref.name;
    if (ref.kind === "ImageStreamTag") {
      const map = this.o.registry.imageStreams ?? {};
      const ns = ref.namespace ?? namespace;
      if (map[`${ns}/${ref.name}`] || map[ref.name]) return resolveImageStreamTag(ref.name, ns, map);
      if (this.o.registry.defaultRegistry) {
        const [name, tag = "latest"] = ref.name.split(":");
        return `${this.o.registry.defaultRegistry}/${ns}/${name}:${tag}`;
      }
      return resolveImageStreamTag(ref.name, ns, map);
    }
    throw new ValidationError(`${ref.kind} "${ref.name}": only DockerImage and ImageStreamTag references are supported`);
  }

  /**
   * The builder job for a build of a BuildConfig. `previousImage` (the
   * BuildConfig's last pushed image, by digest) feeds incremental S2I builds.
   */
  jobFor(build: Build, config: BuildConfig, previousImage?: string): BuilderJob {
    const what = `buildconfig "${build.namespace}/${build.buildConfig}"`;
    const git = config.spec.source?.git;
    const src = build.inputs.source;
    if (!git?.uri || !src) throw new ValidationError(`${what}: spec.source.git.uri is required`);
    const strategy = config.spec.strategy;
    const docker = strategy?.dockerStrategy;
    const source = strategy?.sourceStrategy;
    const strategyType = strategy?.type ?? (source ? "Source" : docker ? "Docker" : undefined);
    const to = config.spec.output?.to;
    if (!to) throw new ValidationError(`${what}: spec.output.to is required`);
    const image = this.resolveRef(to, build.namespace);
    const ref = parseImageRef(image); // validate: a clear error naming the reference
    const images = build.outputTags?.length ? build.outputTags.map((t) => `${ref.registry}/${ref.repository}:${t}`) : [image];
    const envOf = (env: { name: string; value?: string }[] | undefined) => [
      ...(env ?? []).filter((e) => e.value !== undefined).map((e) => ({ name: e.name, value: e.value ?? "" })),
      ...(build.env ?? []),
    ];
    let jobStrategy: BuilderJobInput["strategy"];
    const noCache = strategyType === "Docker" && docker?.noCache === true;
    const cacheOn = this.o.cache?.enabled !== false && !noCache;
    if (strategyType === "Docker") {
      jobStrategy = {
        type: "Docker",
        dockerfilePath: docker?.dockerfilePath ?? "Dockerfile",
        ...(docker?.from ? { from: this.resolveRef(docker.from, build.namespace) } : {}),
        buildArgs: (docker?.buildArgs ?? []).map((a) => ({ name: a.name, value: a.value ?? "" })),
        env: envOf(docker?.env),
        noCache: docker?.noCache ?? false,
        volumes: jobVolumes(docker?.volumes),
        buildSecrets: (docker?.buildSecrets ?? []).map((b) => ({ id: b.id, secret: b.secret.name, ...(b.key ? { key: b.key } : {}) })),
      };
    } else if (strategyType === "Source" && source) {
      jobStrategy = {
        type: "Source",
        from: this.resolveRef(source.from, build.namespace),
        env: envOf(source.env),
        ...(source.scripts !== undefined ? { scripts: source.scripts } : {}),
        incremental: source.incremental ?? false,
        ...(source.incremental && previousImage ? { previousImage } : {}),
        allowedScriptsUrlSchemes: allowedScriptsUrlSchemes(config),
        noCache: false,
        volumes: jobVolumes(source.volumes),
      };
    } else if (strategyType === "Custom" && strategy?.customStrategy) {
      const custom = strategy.customStrategy;
      const pushSecret = config.spec.output?.pushSecret?.name;
      jobStrategy = {
        type: "Custom",
        from: this.resolveRef(custom.from, build.namespace),
        env: envOf(custom.env),
        secrets: (custom.secrets ?? []).map((m) => ({ secret: m.secretSource.name, mountPath: m.mountPath })),
        ...(pushSecret ? { pushSecret: { name: pushSecret } } : {}),
        buildJson: JSON.stringify(openShiftBuild(build, config)),
      };
    } else {
      throw new ValidationError(`${what}: spec.strategy.type ${strategyType ?? "(none)"} is not supported`);
    }
    return BuilderJob.parse({
      buildName: build.id,
      namespace: build.namespace,
      buildConfig: build.buildConfig,
      source: {
        uri: src.uri,
        ...(src.ref ? { ref: src.ref } : {}),
        ...(src.commit ? { commit: src.commit } : {}),
        ...(config.spec.source?.contextDir ? { contextDir: config.spec.source.contextDir } : {}),
        ...(config.spec.source?.dockerfile !== undefined ? { dockerfile: config.spec.source.dockerfile } : {}),
        ...(config.spec.source?.sourceSecret ? { secret: { name: config.spec.source.sourceSecret.name } } : {}),
      },
      strategy: jobStrategy,
      imagePolicy: config.spec.imagePolicy ?? "Warn",
      ...(cacheOn
        ? { cache: { repository: cacheRepository(ref.registry, build.namespace), ...(this.o.cache?.ttl ? { ttl: this.o.cache.ttl } : {}) } }
        : {}),
      output: {
        images,
        imageLabels: (config.spec.output?.imageLabels ?? []).map((l) => ({ name: l.name, ...(l.value !== undefined ? { value: l.value } : {}) })),
      },
      registryAuth: this.o.registry.auth,
      insecureRegistries: this.o.registry.insecure,
    });
  }

  /** The image the BuildConfig's last successful build pushed, by digest. */
  private async previousImage(namespace: string, buildConfig: string): Promise<string | undefined> {
    const builds = await this.o.store.listBuilds({ namespace, buildConfig, phases: ["Complete"], limit: 1 });
    const out = builds[0]?.outputs;
    if (!out?.digest) return undefined;
    const ref = parseImageRef(out.image);
    return `${ref.registry}/${ref.repository}@${out.digest}`;
  }

  private async execute(claimed: Build): Promise<void> {
    const { store, log } = this.o;
    const key = `${claimed.namespace}/${claimed.id}`;
    const controller = new AbortController();
    this.active.set(key, controller);
    let logStream: WriteStream | undefined;
    try {
      const skip = await this.beforeStart?.(claimed).catch((e: unknown) => {
        log.error({ err: e, build: key }, "check before start failed; running the build");
        return undefined;
      });
      if (skip) {
        try {
          const skipped = await store.updateBuild(
            claimed.namespace,
            claimed.id,
            { phase: "Cancelled", reason: skip.reason, message: skip.message, completedAt: this.now() },
            ["Pending"],
          );
          log.info({ build: key, reason: skip.reason }, "build not run");
          await this.emit(skipped);
          await this.followUp(skipped);
        } catch (e) {
          if (!(e instanceof ConflictError)) throw e;
        }
        return;
      }
      const stored = await store.getBuildConfig(claimed.namespace, claimed.buildConfig);
      const startedAt = this.now();
      let build: Build;
      try {
        build = await store.updateBuild(claimed.namespace, claimed.id, { phase: "Running", startedAt }, ["Pending"]);
      } catch (e) {
        // Cancelled (or superseded) between the claim and the start: nothing to run.
        if (e instanceof ConflictError) return;
        throw e;
      }
      await this.emit(build);
      log.info({ build: key }, "build started");
      if (build.logPath) {
        mkdirSync(dirname(build.logPath), { recursive: true });
        logStream = createWriteStream(build.logPath, { flags: "a" });
      }
      // The builder already redacts its lines; this also covers what the runtime writes itself.
      let redact = (t: string) => t;
      const write = (s: string) => logStream?.write(redact(s));
      let reported: ReportedBuild = { inputs: build.inputs };
      let failure: { reason: string; message: string } | undefined;
      let job: BuilderJob | undefined;
      try {
        if (!stored) throw new NotFoundError(`buildconfig "${claimed.namespace}/${claimed.buildConfig}" was deleted`);
        const incremental = stored.config.spec.strategy?.sourceStrategy?.incremental === true;
        job = this.jobFor(build, stored.config, incremental ? await this.previousImage(build.namespace, build.buildConfig) : undefined);
      } catch (e) {
        failure = { reason: "InvalidBuildConfig", message: (e as Error).message };
      }
      if (job) {
        try {
          job = await resolveJobSecrets(job, this.o.secrets ?? NO_SECRETS);
          redact = makeRedactor(secretValues(job));
        } catch (e) {
          job = undefined;
          failure = { reason: (e as { code?: string }).code === "MissingSecret" ? "MissingSecret" : "BuilderError", message: (e as Error).message };
        }
      }
      const deadline = (stored?.config.spec.completionDeadlineSeconds ?? this.o.defaultDeadlineSeconds ?? ONE_WEEK) * 1000;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new Error("deadline"));
      }, deadline);
      let outcome: Awaited<ReturnType<BuilderRunner["run"]>> | undefined;
      if (job) {
        try {
          outcome = await this.o.runner.run(job, {
            signal: controller.signal,
            onLog: write,
            onReport: (r) => {
              reported = applyReport(reported, r);
            },
          });
        } catch (e) {
          failure = { reason: "BuilderError", message: `cannot start the builder: ${(e as Error).message}` };
        }
      }
      clearTimeout(timer);
      const { inputs, outputs, cache, imageCheck } = reported;
      failure ??= reported.failure;
      const completedAt = this.now();
      const durationMs = Date.parse(completedAt) - Date.parse(startedAt);
      let patch: Partial<Build>;
      if (controller.signal.aborted && !timedOut) {
        patch = { phase: "Cancelled", reason: "Cancelled", message: "The build was cancelled" };
      } else if (timedOut) {
        patch = { phase: "Failed", reason: "DeadlineExceeded", message: `The build ran longer than ${deadline / 1000}s` };
      } else if (failure) {
        // An image pushed by digest but refused by the image policy keeps its outputs (no tags), to be inspected.
        patch = { phase: failure.reason === "BuilderError" ? "Error" : "Failed", reason: failure.reason, message: redact(failure.message), ...(outputs ? { outputs } : {}) };
      } else if (outcome && outcome.exitCode === 0 && outputs) {
        patch = { phase: "Complete", outputs };
      } else {
        patch = {
          phase: "Error",
          reason: "BuilderError",
          message: `the builder exited with ${outcome?.exitCode ?? outcome?.signal ?? "no status"} and reported no result`,
        };
      }
      if (patch.phase !== "Complete") write(`\n${patch.reason}: ${patch.message}\n`);
      build = await store.updateBuild(claimed.namespace, claimed.id, { ...patch, inputs, ...(cache ? { cache } : {}), ...(imageCheck ? { imageCheck } : {}), completedAt, durationMs });
      log.info({ build: key, phase: build.phase, reason: build.reason, digest: build.outputs?.digest, durationMs }, "build finished");
      await this.emit(build);
      await this.followUp(build);
    } finally {
      await new Promise<void>((r) => (logStream ? logStream.end(r) : r()));
      this.active.delete(key);
      for (const f of this.finished) f();
      this.finished.clear();
      this.wake?.();
    }
  }
}

/** The source inputs of a new build: the configured repository and ref, and a commit when one is known. */
export function sourceInputs(config: BuildConfig, opts: { commit?: string; ref?: string } = {}): BuildInputs {
  const git = config.spec.source?.git;
  if (!git?.uri) return { bases: [] };
  const ref = opts.ref ?? git.ref;
  return {
    source: { uri: git.uri, ...(ref ? { ref } : {}), ...(opts.commit ? { commit: opts.commit } : {}) },
    bases: [],
  };
}
