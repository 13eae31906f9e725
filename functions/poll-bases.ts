/**
 * The `poll-bases` Lambda, on a schedule: one pass of the same BasePoller as
 * local mode over the external bases (followed, produced by no BuildConfig),
 * starting from the digests the last successful builds used. A changed digest
 * becomes a `cascade.image.updated` event for `plan`; its delivery id names
 * the image, the old and the new digest, so a change seen again before its
 * builds complete queues nothing twice. References on ECR are resolved with
 * the ECR API, others with the registry API. The pass also dispatches
 * claimable builds, a sweep for any a failed dispatch left waiting.
 */
import { ECRClient } from "@aws-sdk/client-ecr";
import { EcrRegistry } from "../src/adapters/aws/ecr.js";
import { createDistributionClient } from "../src/adapters/registry/distribution-client.js";
import type { Registry } from "../src/ports/registry.js";
import { awsRuntime, awsSettings, type AwsRuntime } from "../src/runtime/aws.js";
import { BasePoller, type TickResult } from "../src/runtime/base-poller.js";
import { parseEvent, ScheduledEvent } from "./aws-events.js";
import { lambdaClients } from "./lambda-clients.js";
import { lazyHandler } from "./lazy-handler.js";

export interface PollBasesResult extends TickResult {
  dispatched: string[];
}

export function createPollBasesHandler(rt: Pick<AwsRuntime, "planning" | "fargate" | "publishImageUpdated" | "clock" | "log">, registry: Registry) {
  return async (event: unknown): Promise<PollBasesResult> => {
    parseEvent(ScheduledEvent, event, "scheduled event");
    const initial = await rt.planning.lastBaseDigests();
    const poller = new BasePoller({
      registry,
      clock: rt.clock,
      log: rt.log,
      images: () => rt.planning.externalBases(),
      initial,
      onChange: (image, digest) =>
        rt.publishImageUpdated({
          image,
          digest,
          via: "base image poll",
          delivery: { provider: "poll", id: `${image}@${initial.get(image) ?? "none"}>${digest}` },
        }),
    });
    const result = await poller.tick();
    const dispatched = await rt.fargate.dispatch();
    return { ...result, dispatched: dispatched.map((b) => `${b.namespace}/${b.id}`) };
  };
}

export function init(env: Record<string, string | undefined> = process.env) {
  const s = awsSettings(env);
  const rt = awsRuntime(s, lambdaClients(s));
  // Other registries are read anonymously: the public bases builds start from.
  const registry = new EcrRegistry({ client: new ECRClient({}), fallback: createDistributionClient({}) });
  return createPollBasesHandler(rt, registry);
}

export const handler = lazyHandler(init);
