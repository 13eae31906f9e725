/**
 * The `launch` Lambda: an SQS consumer of the launch queue (one message per
 * claimed build) that starts each build's Fargate task with RunTask and
 * per-build overrides, and answers with partial batch failures: a message
 * whose build could not start yet (no Fargate capacity, throttling) is made
 * visible again after an exponential backoff of its own and reported failed,
 * so SQS delivers it again; after the queue's maxReceiveCount it goes to the
 * dead-letter queue, and its last attempt records the build as Error.
 * Malformed messages are reported failed too, and end in the DLQ.
 */
import { SqsLaunchQueue } from "../src/adapters/aws/sqs-launch-queue.js";
import { CascadeError } from "../src/core/errors.js";
import { awsRuntime, awsSettings, type AwsRuntime } from "../src/runtime/aws.js";
import { LaunchMessage, parseEvent, SqsEvent, SqsRecord, type SqsBatchResponse } from "./aws-events.js";
import { builderRunner } from "./builder-runner.js";
import { lambdaClients } from "./lambda-clients.js";
import { lazyHandler } from "./lazy-handler.js";

/** The delay before a build that found no capacity is tried again: 30 s, doubling, at most 15 minutes. */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(900, 30 * 2 ** Math.max(0, attempt - 1));
}

export interface LaunchParts {
  rt: Pick<AwsRuntime, "fargate" | "log">;
  queue: Pick<SqsLaunchQueue, "retryLater">;
}

export function createLaunchHandler({ rt, queue }: LaunchParts) {
  return async (event: unknown): Promise<SqsBatchResponse> => {
    const { Records } = parseEvent(SqsEvent, event, "SQS event");
    const failures: SqsBatchResponse["batchItemFailures"] = [];
    for (const [i, raw] of Records.entries()) {
      let record: SqsRecord;
      try {
        record = parseEvent(SqsRecord, raw, `SQS event: Records.${i}`);
      } catch (e) {
        // Without a messageId no failure can be reported for it: fail the whole batch.
        const id = (raw as { messageId?: unknown })?.messageId;
        if (typeof id !== "string") throw e;
        rt.log.error({ err: e, messageId: id }, "malformed SQS record");
        failures.push({ itemIdentifier: id });
        continue;
      }
      const attempt = record.attributes.ApproximateReceiveCount;
      try {
        let body: unknown;
        try {
          body = JSON.parse(record.body);
        } catch {
          body = record.body;
        }
        const ref = parseEvent(LaunchMessage, body, `launch message ${record.messageId}`);
        const out = await rt.fargate.launch(ref, attempt);
        rt.log.info({ messageId: record.messageId, attempt, status: out.status, ...(out.status === "skipped" ? { reason: out.reason } : {}) }, "launch");
      } catch (e) {
        const temporary = e instanceof CascadeError && e.temporary;
        rt.log[temporary ? "warn" : "error"]({ err: e, messageId: record.messageId, attempt }, temporary ? "launch deferred" : "launch failed");
        if (temporary) {
          await queue.retryLater(record.receiptHandle, retryDelaySeconds(attempt)).catch((err: unknown) => {
            rt.log.warn({ err, messageId: record.messageId }, "could not delay the message; the queue's visibility timeout applies");
          });
        }
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
}

export function init(env: Record<string, string | undefined> = process.env) {
  const s = awsSettings(env);
  const clients = lambdaClients(s);
  const rt = awsRuntime(s, { ...clients, runner: builderRunner(s) });
  return createLaunchHandler({ rt, queue: clients.queue });
}

export const handler = lazyHandler(init);
