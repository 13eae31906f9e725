/**
 * The SDK clients most functions compose their runtime from: the table's,
 * the bus's and the launch queue's, each with the Lambda environment's
 * region and credentials. `image-pushed` needs no queue and builds its two
 * clients itself, so that its bundle carries no SQS client.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SQSClient } from "@aws-sdk/client-sqs";
import { SqsLaunchQueue } from "../src/adapters/aws/sqs-launch-queue.js";
import type { AwsParts, AwsSettings } from "../src/runtime/aws.js";

export function lambdaClients(s: AwsSettings): Required<Pick<AwsParts, "dynamodb" | "eventBridge">> & { queue: SqsLaunchQueue } {
  return {
    dynamodb: new DynamoDBClient({}),
    eventBridge: new EventBridgeClient({}),
    queue: new SqsLaunchQueue({ client: new SQSClient({}), queueUrl: s.CASCADE_BUILD_QUEUE_URL }),
  };
}
