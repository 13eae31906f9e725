/**
 * The launch queue on SQS: one message per claimed build (`{namespace, id}`),
 * consumed by the `launch` function. `send` uses SendMessageBatch (10 entries
 * a call) and sends again the entries SQS reports failed, and whole calls
 * that fail temporarily, with exponential backoff; what is still refused
 * after `maxAttempts` comes back to the caller, which returns those builds to
 * the queue of New builds. `retryLater` makes a message the consumer could not
 * handle yet (no Fargate capacity) visible again after a delay of its own
 * instead of the queue's visibility timeout.
 */
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { refKey, type BuildRef, type LaunchQueue } from "../../ports/remote-builds.js";
import { isTemporaryAwsError, translateAwsError } from "./sdk-errors.js";

export interface SqsLaunchQueueOptions {
  client: Pick<SQSClient, "send">;
  queueUrl: string;
  /** SendMessageBatch calls per batch before giving up on its entries. Default 4. */
  maxAttempts?: number;
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** SQS's ceiling for a message's visibility timeout: 12 hours. */
export const MAX_VISIBILITY_SECONDS = 12 * 3600;

export class SqsLaunchQueue implements LaunchQueue {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: SqsLaunchQueueOptions) {
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async send(refs: readonly BuildRef[]): Promise<BuildRef[]> {
    const refused: BuildRef[] = [];
    for (let i = 0; i < refs.length; i += 10) refused.push(...(await this.sendBatch(refs.slice(i, i + 10))));
    return refused;
  }

  private async sendBatch(batch: BuildRef[]): Promise<BuildRef[]> {
    // Entry ids must be unique in a call and match [A-Za-z0-9_-]{1,80}: the index does.
    let pending = batch.map((ref, i) => ({ ref, id: String(i) }));
    const refused: BuildRef[] = [];
    const attempts = this.o.maxAttempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.o.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.o.queueUrl,
            Entries: pending.map((p) => ({ Id: p.id, MessageBody: JSON.stringify(p.ref) })),
          }),
        );
        const ok = new Set((res.Successful ?? []).map((s) => s.Id));
        const failed = new Map((res.Failed ?? []).map((f) => [f.Id, f]));
        // A sender fault (a malformed entry) would fail again: refuse it now.
        for (const p of pending) if (failed.get(p.id)?.SenderFault) refused.push(p.ref);
        pending = pending.filter((p) => !ok.has(p.id) && !failed.get(p.id)?.SenderFault);
      } catch (e) {
        if (!isTemporaryAwsError(e)) {
          throw translateAwsError(e, `SQS SendMessageBatch to ${this.o.queueUrl} for ${pending.map((p) => refKey(p.ref)).join(", ")}`);
        }
      }
      if (!pending.length) return refused;
      if (attempt >= attempts) return [...refused, ...pending.map((p) => p.ref)];
      await this.sleep((this.o.baseDelayMs ?? 100) * 2 ** (attempt - 1));
    }
  }

  /** Make a received message visible again in `seconds` (capped at SQS's 12 hours). */
  async retryLater(receiptHandle: string, seconds: number): Promise<void> {
    try {
      await this.o.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.o.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_SECONDS, Math.round(seconds))),
        }),
      );
    } catch (e) {
      throw translateAwsError(e, `SQS ChangeMessageVisibility on ${this.o.queueUrl}`);
    }
  }
}
