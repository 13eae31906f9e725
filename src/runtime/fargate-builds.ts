/**
 * The build lifecycle when the builder runs remotely and its end arrives as
 * an event (AWS: a Fargate task per build). The same Store, Builds (job,
 * CloudEvents, cancel of queued builds) and Planning (chains, skips) as the
 * local worker, split into the steps that separate functions run:
 *
 *   dispatch  claim every build that may start now (run policies, the global
 *             limit, dependencies: the Store decides) and put each on the
 *             launch queue; a build the queue refuses goes back to New.
 *   launch    for one claimed build: write its job, start its builder, mark it
 *             Running (`cascade.build.started`). A temporary failure (no
 *             capacity) is thrown for the queue to redeliver, until the last
 *             attempt, which records the build as Error.
 *   stopped   the builder stopped: read its reports, record the result and
 *             emit its CloudEvents, follow the chain, dispatch what it freed.
 *   cancel    a queued build is cancelled in the Store; a running one has its
 *             builder stopped, and `stopped` records it Cancelled.
 */
import type { Logger } from "pino";
import type { BuilderJob } from "../builder/job.js";
import { isTerminal, type Build } from "../core/build.js";
import { CascadeError, ConflictError, NotFoundError, ValidationError } from "../core/errors.js";
import { parseImageRef } from "../core/image-ref.js";
import type { Clock } from "../ports/clock.js";
import { refKey, type BuildRef, type BuildTasks, type LaunchQueue, type RemoteBuilder } from "../ports/remote-builds.js";
import type { Store } from "../ports/store.js";
import type { Builds } from "./builds.js";
import type { Planning } from "./planning.js";
import { foldReports } from "./build-reports.js";

/** OpenShift's default completion deadline: one week. */
export const DEFAULT_DEADLINE_SECONDS = 7 * 24 * 3600;

export interface FargateBuildsOptions {
  store: Store;
  builds: Builds;
  planning: Planning;
  tasks: BuildTasks;
  clock: Clock;
  log: Logger;
  /** Needed by dispatch (every function that queues or frees builds). */
  queue?: LaunchQueue;
  /** Needed by launch and by the cancel of a running build. */
  runner?: RemoteBuilder;
  /** Global concurrency limit. */
  maxActive: number;
  /** Launch attempts (queue receives) before a build that cannot start is recorded as Error. */
  maxLaunchAttempts: number;
  defaultDeadlineSeconds?: number;
}

/** How a builder task ended, as its "task state change" event says. */
export interface TaskStopped {
  ref: BuildRef;
  taskArn: string;
  /** ECS `stopCode`: EssentialContainerExited, UserInitiated, TaskFailedToStart, SpotInterruption... */
  stopCode?: string;
  stoppedReason?: string;
  /** The builder container's exit code and reason (e.g. `OutOfMemoryError: Container killed...`). */
  exitCode?: number;
  containerReason?: string;
  stoppedAt?: string;
}

export type LaunchOutcome =
  | { status: "started"; build: Build; taskArn: string }
  | { status: "skipped"; reason: string }
  | { status: "failed"; build: Build };

export type StoppedOutcome = { status: "recorded"; build: Build } | { status: "ignored"; reason: string };

export class FargateBuilds {
  constructor(private readonly o: FargateBuildsOptions) {}

  private now(): string {
    return this.o.clock.now().toISOString();
  }

  private need<K extends "queue" | "runner">(k: K): NonNullable<FargateBuildsOptions[K]> {
    const v = this.o[k];
    if (!v) throw new CascadeError("Misconfigured", `this function was composed without a ${k === "queue" ? "launch queue" : "builder runner"}`);
    return v as NonNullable<FargateBuildsOptions[K]>;
  }

  /** After a build ends (or did not run): its chain follows; failures there are logged, not thrown. */
  private async finished(b: Build): Promise<void> {
    await this.o.builds.emit(b);
    try {
      await this.o.planning.afterBuild(b);
    } catch (e) {
      this.o.log.error({ err: e, build: refKey(b) }, "follow-up after build failed");
    }
  }

  /** Claim every build that may start now and queue its launch. Returns the builds queued. */
  async dispatch(): Promise<Build[]> {
    const queue = this.need("queue");
    const claimed: Build[] = [];
    for (;;) {
      const b = await this.o.store.claimNextBuild(this.now(), this.o.maxActive);
      if (!b) break;
      claimed.push(b);
    }
    if (!claimed.length) return [];
    const refused = new Set((await queue.send(claimed.map((b) => ({ namespace: b.namespace, id: b.id })))).map(refKey));
    for (const b of claimed) {
      if (!refused.has(refKey(b))) continue;
      // Not queued: back to New, so that the next dispatch claims it again.
      await this.o.store.updateBuild(b.namespace, b.id, { phase: "New" }, ["Pending"]).catch((e: unknown) => {
        if (!(e instanceof ConflictError)) throw e;
      });
      this.o.log.warn({ build: refKey(b) }, "launch queue refused the build; it waits for the next dispatch");
    }
    const queued = claimed.filter((b) => !refused.has(refKey(b)));
    if (queued.length) this.o.log.info({ builds: queued.map(refKey) }, "builds dispatched");
    return queued;
  }

  /** Record a build that will not run as `phase` with the reason, and follow up. */
  private async endBeforeStart(b: Build, patch: Pick<Build, "phase" | "reason" | "message">): Promise<Build | undefined> {
    try {
      const next = await this.o.store.updateBuild(b.namespace, b.id, { ...patch, completedAt: this.now() }, ["Pending"]);
      await this.finished(next);
      return next;
    } catch (e) {
      if (e instanceof ConflictError) return undefined; // cancelled meanwhile
      throw e;
    }
  }

  private async previousImage(b: Build): Promise<string | undefined> {
    const [last] = await this.o.store.listBuilds({ namespace: b.namespace, buildConfig: b.buildConfig, phases: ["Complete"], limit: 1 });
    if (!last?.outputs?.digest) return undefined;
    const ref = parseImageRef(last.outputs.image);
    return `${ref.registry}/${ref.repository}@${last.outputs.digest}`;
  }

  /**
   * Start the builder of a claimed (Pending) build. `attempt` counts from 1
   * (SQS's ApproximateReceiveCount). Throws a temporary CascadeError when a
   * later attempt may succeed; anything else ends the build.
   */
  async launch(ref: BuildRef, attempt: number): Promise<LaunchOutcome> {
    const { store, log } = this.o;
    const runner = this.need("runner");
    const key = refKey(ref);
    const build = await store.getBuild(ref.namespace, ref.id);
    if (!build) return { status: "skipped", reason: `build "${key}" not found` };
    if (build.phase !== "Pending") return { status: "skipped", reason: `build "${key}" is ${build.phase}, not Pending` };

    const skip = await this.o.planning.unchangedInputs(build).catch((e: unknown) => {
      log.error({ err: e, build: key }, "check before start failed; running the build");
      return undefined;
    });
    if (skip) {
      await this.endBeforeStart(build, { phase: "Cancelled", reason: skip.reason, message: skip.message });
      log.info({ build: key, reason: skip.reason }, "build not run");
      await this.dispatch();
      return { status: "skipped", reason: skip.message };
    }

    const stored = await store.getBuildConfig(build.namespace, build.buildConfig);
    const deadline = stored?.config.spec.completionDeadlineSeconds ?? this.o.defaultDeadlineSeconds ?? DEFAULT_DEADLINE_SECONDS;
    let job: BuilderJob;
    try {
      if (!stored) throw new NotFoundError(`buildconfig "${build.namespace}/${build.buildConfig}" was deleted`);
      const incremental = stored.config.spec.strategy?.sourceStrategy?.incremental === true;
      job = this.o.builds.jobFor(build, stored.config, incremental ? await this.previousImage(build) : undefined);
    } catch (e) {
      if (e instanceof CascadeError && e.temporary) throw e;
      const failed = await this.endBeforeStart(build, { phase: "Failed", reason: "InvalidBuildConfig", message: (e as Error).message });
      await this.dispatch();
      return failed ? { status: "failed", build: failed } : { status: "skipped", reason: `build "${key}" changed meanwhile` };
    }

    await this.o.tasks.putJob(ref, job, deadline, this.now());
    let taskArn: string;
    try {
      ({ taskArn } = await runner.start(build, stored.config, deadline));
    } catch (e) {
      const temporary = e instanceof CascadeError && e.temporary;
      if (temporary && attempt < this.o.maxLaunchAttempts) throw e;
      const message = (e as Error).message;
      const patch =
        e instanceof ValidationError
          ? { phase: "Failed" as const, reason: "InvalidBuildConfig", message }
          : {
              phase: "Error" as const,
              reason: "BuilderError",
              message: temporary ? `the builder could not start after ${attempt} attempts: ${message}` : `the builder could not start: ${message}`,
            };
      const failed = await this.endBeforeStart(build, patch);
      log.error({ build: key, attempt, err: e }, "builder did not start");
      await this.dispatch();
      return failed ? { status: "failed", build: failed } : { status: "skipped", reason: `build "${key}" changed meanwhile` };
    }
    await this.o.tasks.setTask(ref, taskArn);
    let running: Build;
    try {
      running = await store.updateBuild(build.namespace, build.id, { phase: "Running", startedAt: this.now() }, ["Pending"]);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      const now = await store.getBuild(build.namespace, build.id);
      if (now?.phase === "Cancelled") {
        // Cancelled between the claim and now: the task must not build.
        await runner.stop(taskArn, "Cascade: the build was cancelled before it started");
        return { status: "skipped", reason: `build "${key}" was cancelled before it started` };
      }
      // A second delivery of the same launch got there first (RunTask's token made it the same task), or the
      // task already ended and was recorded: nothing to undo.
      return { status: "skipped", reason: `build "${key}" is ${now?.phase ?? "gone"}: launched by another delivery` };
    }
    await this.o.builds.emit(running);
    log.info({ build: key, taskArn }, "build started");
    return { status: "started", build: running, taskArn };
  }

  /** Record how a builder task ended. Redeliveries and tasks of other builds are ignored. */
  async stopped(s: TaskStopped): Promise<StoppedOutcome> {
    const { store, log } = this.o;
    const key = refKey(s.ref);
    const build = await store.getBuild(s.ref.namespace, s.ref.id);
    if (!build) return { status: "ignored", reason: `build "${key}" not found` };
    if (isTerminal(build.phase)) return { status: "ignored", reason: `build "${key}" already ${build.phase}` };
    const task = await this.o.tasks.get(s.ref);
    if (task?.taskArn && task.taskArn !== s.taskArn) {
      return { status: "ignored", reason: `task ${s.taskArn} is not the task of build "${key}" (${task.taskArn})` };
    }
    const { inputs, outputs, cache, imageCheck, failure } = foldReports(build.inputs, task?.reports ?? []);
    const what = [s.stopCode, s.stoppedReason].filter(Boolean).join(": ") || "no reason given";
    let patch: Partial<Build>;
    if (task?.cancelRequested) {
      patch = { phase: "Cancelled", reason: "Cancelled", message: "The build was cancelled" };
    } else if (/OutOfMemory/i.test(s.containerReason ?? "")) {
      patch = { phase: "Failed", reason: "OutOfMemoryKilled", message: `the builder ran out of memory (${s.containerReason})` };
    } else if (failure) {
      // An image pushed by digest but refused by the image policy keeps its outputs (no tags), to be inspected.
      patch = { phase: failure.reason === "BuilderError" ? "Error" : "Failed", reason: failure.reason, message: failure.message, ...(outputs ? { outputs } : {}) };
    } else if (s.exitCode === 0 && outputs) {
      patch = { phase: "Complete", outputs };
    } else {
      patch = {
        phase: "Error",
        reason: "BuilderError",
        message: `the builder task stopped (${what}) with exit code ${s.exitCode ?? "none"} and reported no result`,
      };
    }
    const completedAt = s.stoppedAt && !Number.isNaN(Date.parse(s.stoppedAt)) ? new Date(s.stoppedAt).toISOString() : this.now();
    const startedAt = build.startedAt ?? completedAt;
    let next: Build;
    try {
      next = await store.updateBuild(
        build.namespace,
        build.id,
        { ...patch, inputs, ...(cache ? { cache } : {}), ...(imageCheck ? { imageCheck } : {}), completedAt, durationMs: Math.max(0, Date.parse(completedAt) - Date.parse(startedAt)) },
        ["Pending", "Running"],
      );
    } catch (e) {
      if (e instanceof ConflictError) return { status: "ignored", reason: `build "${key}" changed meanwhile` };
      throw e;
    }
    log.info({ build: key, phase: next.phase, reason: next.reason, digest: next.outputs?.digest, taskArn: s.taskArn }, "build finished");
    await this.finished(next);
    await this.dispatch();
    return { status: "recorded", build: next };
  }

  /** Cancel a build: queued ones at once, a running one by stopping its builder. */
  async cancel(ref: string): Promise<Build> {
    const b = await this.o.store.findBuild(ref);
    if (!b) throw new NotFoundError(`build "${ref}" not found`);
    if (isTerminal(b.phase)) throw new ConflictError(`build "${refKey(b)}" already finished (${b.phase})`);
    if (b.phase === "Running") {
      const task = await this.o.tasks.requestCancel(b);
      if (!task?.taskArn) throw new ConflictError(`build "${refKey(b)}" is Running but has no builder task to stop`);
      await this.need("runner").stop(task.taskArn, "Cascade: cancelled by a user");
      this.o.log.info({ build: refKey(b), taskArn: task.taskArn }, "cancel requested; stopping the builder task");
      return b;
    }
    const next = await this.o.builds.cancel(refKey(b));
    if (b.phase === "Pending" && this.o.queue) await this.dispatch(); // its slot is free
    return next;
  }
}
