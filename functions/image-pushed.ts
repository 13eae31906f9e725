/**
 * The `image-pushed` Lambda: EventBridge's "ECR Image Action" (rule: PUSH,
 * SUCCESS) -> a normalised `cascade.image.updated` CloudEvent on Cascade's
 * bus, which the `plan` function consumes. The ECR host is formed from the
 * event's account and region and the partition's domain; a push by digest
 * only (no tag) moves no tag, so it updates nothing that triggers follow.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { ecrHost } from "../src/adapters/aws/ecr.js";
import type { ImageUpdated } from "../src/core/image-updated.js";
import { awsRuntime, awsSettings, type AwsRuntime } from "../src/runtime/aws.js";
import { EcrImageAction, parseEvent } from "./aws-events.js";
import { lazyHandler } from "./lazy-handler.js";

export type ImagePushedResult = { published: ImageUpdated } | { ignored: string };

export function createImagePushedHandler(rt: Pick<AwsRuntime, "settings" | "publishImageUpdated" | "log">) {
  return async (event: unknown): Promise<ImagePushedResult> => {
    const e = parseEvent(EcrImageAction, event, "ECR Image Action event");
    const d = e.detail;
    if (d["action-type"] !== "PUSH" || d.result !== "SUCCESS") return { ignored: `${d["action-type"]} ${d.result} is not a successful push` };
    const tag = d["image-tag"];
    if (!tag) return { ignored: `push of ${d["repository-name"]}@${d["image-digest"]} by digest moves no tag` };
    const update: ImageUpdated = {
      image: `${ecrHost(e.account, e.region, rt.settings.CASCADE_URL_SUFFIX)}/${d["repository-name"]}:${tag}`,
      digest: d["image-digest"],
      via: "ECR push",
      delivery: { provider: "ecr", id: e.id },
    };
    await rt.publishImageUpdated(update);
    rt.log.info({ image: update.image, digest: update.digest, event: e.id }, "ECR push normalised");
    return { published: update };
  };
}

export function init(env: Record<string, string | undefined> = process.env) {
  return createImagePushedHandler(awsRuntime(awsSettings(env), { dynamodb: new DynamoDBClient({}), eventBridge: new EventBridgeClient({}) }));
}

export const handler = lazyHandler(init);
