/**
 * Outbound CloudEvents for build transitions, as plain immutable attribute
 * objects. Pure: the caller gives the id and the time. Adapters turn them
 * into wire form with the `cloudevents` SDK (HTTP binary or structured mode,
 * EventBridge entries).
 */
import type { Build } from "./build.js";

export const EVENT_TYPES = {
  queued: "cascade.build.queued",
  started: "cascade.build.started",
  succeeded: "cascade.build.succeeded",
  failed: "cascade.build.failed",
  cancelled: "cascade.build.cancelled",
  published: "cascade.image.published",
} as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

export interface CascadeEvent {
  specversion: "1.0";
  id: string;
  type: EventType;
  source: string;
  subject: string;
  time: string;
  datacontenttype: "application/json";
  data: Record<string, unknown>;
}

/**
 * A deep copy, frozen all the way down: an event shares nothing with the
 * build it describes, and neither it nor its data can change once made.
 */
function frozen<T extends object>(value: T): T {
  const copy = structuredClone(value);
  const freeze = (v: unknown): void => {
    if (typeof v !== "object" || v === null || Object.isFrozen(v)) return;
    Object.freeze(v);
    for (const child of Object.values(v)) freeze(child);
  };
  freeze(copy);
  return copy;
}

function buildData(b: Build) {
  return {
    build: b.id,
    namespace: b.namespace,
    buildConfig: b.buildConfig,
    number: b.number,
    phase: b.phase,
    ...(b.reason ? { reason: b.reason } : {}),
    ...(b.message ? { message: b.message } : {}),
    causes: b.causes,
    inputs: b.inputs,
    ...(b.outputs ? { outputs: b.outputs } : {}),
    ...(b.imageCheck ? { imageCheck: b.imageCheck } : {}),
    createdAt: b.createdAt,
    ...(b.startedAt ? { startedAt: b.startedAt } : {}),
    ...(b.completedAt ? { completedAt: b.completedAt } : {}),
    ...(b.durationMs !== undefined ? { durationMs: b.durationMs } : {}),
  };
}

/** The event for a build's current phase, or none for phases that have no event (Pending). */
export function transitionEvent(b: Build, ctx: { id: string; source: string; time: string }): CascadeEvent | undefined {
  let type: EventType;
  switch (b.phase) {
    case "New":
      type = EVENT_TYPES.queued;
      break;
    case "Running":
      type = EVENT_TYPES.started;
      break;
    case "Complete":
      type = EVENT_TYPES.succeeded;
      break;
    case "Failed":
    case "Error":
      type = EVENT_TYPES.failed;
      break;
    case "Cancelled":
      type = EVENT_TYPES.cancelled;
      break;
    case "Pending":
      return undefined;
    default: {
      const never: never = b.phase;
      throw new Error(`unknown phase ${String(never)}`);
    }
  }
  return frozen<CascadeEvent>({
    specversion: "1.0",
    id: ctx.id,
    type,
    source: ctx.source,
    subject: `${b.namespace}/${b.buildConfig}`,
    time: ctx.time,
    datacontenttype: "application/json",
    data: buildData(b),
  });
}

/** `cascade.image.published` for a completed build that pushed an image. */
export function publishedEvent(b: Build, ctx: { id: string; source: string; time: string }): CascadeEvent | undefined {
  // An unchanged output (the digest its tags already held) is not a new image.
  if (b.phase !== "Complete" || !b.outputs || b.outputs.unchanged) return undefined;
  return frozen<CascadeEvent>({
    specversion: "1.0",
    id: ctx.id,
    type: EVENT_TYPES.published,
    source: ctx.source,
    subject: `${b.namespace}/${b.buildConfig}`,
    time: ctx.time,
    datacontenttype: "application/json",
    data: {
      image: b.outputs.image,
      digest: b.outputs.digest,
      tags: b.outputs.tags,
      bases: b.inputs.bases,
      ...(b.inputs.source?.commit ? { commit: b.inputs.source.commit } : {}),
      ...(b.inputs.source?.uri ? { source: b.inputs.source.uri } : {}),
      build: b.id,
      namespace: b.namespace,
      buildConfig: b.buildConfig,
    },
  });
}
