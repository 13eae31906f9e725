/**
 * The `plan` Lambda: a normalised `cascade.image.updated` event from
 * Cascade's bus -> Planning (the same planner and coalescing as local mode)
 * -> build requests in the table -> the claimable ones dispatched to the
 * launch queue. The upstream event's id is the delivery, so a redelivered
 * event queues nothing more. The notice of an image Cascade itself pushed is
 * skipped: `task-stopped` follows that build's chain when it records it.
 */
import { awsRuntime, awsSettings, type AwsRuntime } from "../src/runtime/aws.js";
import { ImageUpdatedBusEvent, parseEvent } from "./aws-events.js";
import { lambdaClients } from "./lambda-clients.js";
import { lazyHandler } from "./lazy-handler.js";

export interface PlanResult {
  image: string;
  ignored?: string;
  duplicate?: boolean;
  /** Builds this event queued (none for a redelivery). */
  queued?: string[];
  /** For a redelivery: the builds the first delivery queued. */
  previously?: string[];
  coalesced?: string[];
  skipped?: { buildConfig: string; reason: string }[];
  dispatched?: string[];
}

export function createPlanHandler(rt: Pick<AwsRuntime, "planning" | "tasks" | "fargate" | "log">) {
  return async (event: unknown): Promise<PlanResult> => {
    const { data: u } = parseEvent(ImageUpdatedBusEvent, event, "cascade.image.updated event").detail;
    const image = `${u.image}@${u.digest}`;
    const by = await rt.tasks.pushedBy(u.image, u.digest);
    if (by) return { image, ignored: `pushed by Cascade build ${by}, whose chain follows when it is recorded` };
    const res = await rt.planning.imageUpdated(u.image, u.digest, u.via, u.delivery);
    const dispatched = await rt.fargate.dispatch();
    const refs = res.builds.map((b) => `${b.namespace}/${b.id}`);
    return {
      image,
      duplicate: res.duplicate,
      queued: res.duplicate ? [] : refs,
      ...(res.duplicate ? { previously: refs } : {}),
      coalesced: res.coalesced.map((c) => c.build),
      skipped: res.skipped,
      dispatched: dispatched.map((b) => `${b.namespace}/${b.id}`),
    };
  };
}

export function init(env: Record<string, string | undefined> = process.env) {
  const s = awsSettings(env);
  return createPlanHandler(
    awsRuntime(s, lambdaClients(s)),
  );
}

export const handler = lazyHandler(init);
