/**
 * Ports for a runtime whose builder runs somewhere else and ends by an event
 * (on AWS: a Fargate task, started by the `launch` function, whose end
 * arrives as an "ECS Task State Change"). The Store holds the builds; these
 * hold what travels between the runtime and the remote builder:
 *
 * - `BuildTasks`: one record per build with the builder's job (the task reads
 *   it there, so the job never appears in RunTask overrides, task
 *   descriptions or events), the task's id, a cancel request, and the
 *   builder's reports as the task sends them; plus which build pushed which
 *   image digest, so that the notice of Cascade's own push is recognised.
 * - `LaunchQueue`: builds claimed and waiting for a builder to be started.
 * - `RemoteBuilder`: starts and stops one builder per build.
 */
import { z } from "zod";
import { BuilderJob, BuilderReport } from "../builder/job.js";
import type { Build } from "../core/build.js";
import type { BuildConfig } from "../core/buildconfig.js";

export const BuildRef = z.object({ namespace: z.string().min(1), id: z.string().min(1) });
export type BuildRef = z.infer<typeof BuildRef>;

export const refKey = (r: BuildRef): string => `${r.namespace}/${r.id}`;

/** `ns/id` back into a BuildRef (the form the builder task gets in `CASCADE_BUILD`). */
export function parseRefKey(s: string): BuildRef | undefined {
  const i = s.indexOf("/");
  if (i <= 0 || i === s.length - 1 || s.indexOf("/", i + 1) >= 0) return undefined;
  return { namespace: s.slice(0, i), id: s.slice(i + 1) };
}

export const BuildTask = z.object({
  namespace: z.string(),
  id: z.string(),
  job: BuilderJob,
  deadlineSeconds: z.number().int().positive(),
  /** The remote builder's id (ECS task ARN), once started. */
  taskArn: z.string().optional(),
  /** Set by a cancel: the stop that follows is a cancellation, not a failure. */
  cancelRequested: z.boolean().optional(),
  /** The builder's reports, in the order it sent them. */
  reports: z.array(BuilderReport).default([]),
  createdAt: z.string(),
});
export type BuildTask = z.infer<typeof BuildTask>;

export interface BuildTasks {
  /** Store (or replace, on a relaunch) the job of a build, with no task and no reports yet. */
  putJob(ref: BuildRef, job: BuilderJob, deadlineSeconds: number, now: string): Promise<void>;
  get(ref: BuildRef): Promise<BuildTask | undefined>;
  setTask(ref: BuildRef, taskArn: string): Promise<void>;
  /** Mark the build's task as cancelled by a user; the record as it is now, if any. */
  requestCancel(ref: BuildRef): Promise<BuildTask | undefined>;
  addReport(ref: BuildRef, report: BuilderReport): Promise<void>;
  /** `images` (name:tag) now hold `digest`, pushed by this build. */
  recordPushed(images: string[], digest: string, ref: BuildRef, now: string): Promise<void>;
  /** The build (`ns/id`) that pushed `digest` to `image`, if Cascade did. */
  pushedBy(image: string, digest: string): Promise<string | undefined>;
}

export interface LaunchQueue {
  /** Queue launches; resolves with the refs that could not be queued (after retries). */
  send(refs: readonly BuildRef[]): Promise<BuildRef[]>;
}

export interface RemoteBuilder {
  /** Start the builder for a build; resolves once it is accepted, with its id. */
  start(build: Build, config: BuildConfig, deadlineSeconds: number): Promise<{ taskArn: string }>;
  stop(taskArn: string, reason: string): Promise<void>;
}
