import { describe, expect, it } from "vitest";
import { fakeClient, sdkError } from "../../../test/support/aws-fakes.js";
import { SqsLaunchQueue } from "./sqs-launch-queue.js";

const URL = "https://sqs.us-east-1.example.test/111122223333/cascade-dev-BuildQueue";
const refs = (n: number) => Array.from({ length: n }, (_, i) => ({ namespace: "ns", id: `app-${i + 1}` }));
const ok = (input: any) => ({ Successful: input.Entries.map((e: any) => ({ Id: e.Id, MessageId: `m${e.Id}`, MD5OfMessageBody: "" })), Failed: [] });

describe("SqsLaunchQueue", () => {
  it("sends one message per build, ten to a call", async () => {
    const sqs = fakeClient({ SendMessageBatchCommand: ok });
    const q = new SqsLaunchQueue({ client: sqs, queueUrl: URL, sleep: async () => {} });
    expect(await q.send(refs(23))).toEqual([]);
    const calls = sqs.inputs("SendMessageBatchCommand");
    expect(calls.map((c) => c.Entries.length)).toEqual([10, 10, 3]);
    expect(calls[0].QueueUrl).toBe(URL);
    expect(JSON.parse(calls[2].Entries[2].MessageBody)).toEqual({ namespace: "ns", id: "app-23" });
  });

  it("sends again only the entries SQS failed, and gives back what it never took", async () => {
    const sqs = fakeClient({
      SendMessageBatchCommand: (input, n) => {
        if (n === 1) {
          return {
            Successful: [{ Id: input.Entries[0].Id, MessageId: "m0", MD5OfMessageBody: "" }],
            Failed: [
              { Id: input.Entries[1].Id, SenderFault: false, Code: "InternalError", Message: "try again" },
              { Id: input.Entries[2].Id, SenderFault: true, Code: "InvalidMessageContents", Message: "no" },
            ],
          };
        }
        if (n === 2) throw sdkError("ServiceUnavailable", "down", 503);
        return { Successful: [], Failed: input.Entries.map((e: any) => ({ Id: e.Id, SenderFault: false, Code: "InternalError" })) };
      },
    });
    const slept: number[] = [];
    const q = new SqsLaunchQueue({ client: sqs, queueUrl: URL, maxAttempts: 4, sleep: async (ms) => void slept.push(ms) });
    const refused = await q.send(refs(3));
    expect(refused.map((r) => r.id).sort()).toEqual(["app-2", "app-3"]);
    expect(sqs.inputs("SendMessageBatchCommand").map((c) => c.Entries.map((e: any) => JSON.parse(e.MessageBody).id))).toEqual([
      ["app-1", "app-2", "app-3"],
      ["app-2"],
      ["app-2"],
      ["app-2"],
    ]);
    expect(slept).toEqual([100, 200, 400]);
  });

  it("throws a permanent failure of the call, naming the queue and the builds", async () => {
    const sqs = fakeClient({ SendMessageBatchCommand: () => { throw sdkError("QueueDoesNotExist", "The specified queue does not exist."); } });
    const q = new SqsLaunchQueue({ client: sqs, queueUrl: URL });
    await expect(q.send(refs(1))).rejects.toThrow(`SQS SendMessageBatch to ${URL} for ns/app-1: QueueDoesNotExist`);
  });

  it("delays a message by changing its visibility, at most 12 hours", async () => {
    const sqs = fakeClient({ ChangeMessageVisibilityCommand: () => ({}) });
    const q = new SqsLaunchQueue({ client: sqs, queueUrl: URL });
    await q.retryLater("handle-1", 90.4);
    await q.retryLater("handle-2", 999_999);
    expect(sqs.inputs("ChangeMessageVisibilityCommand")).toEqual([
      { QueueUrl: URL, ReceiptHandle: "handle-1", VisibilityTimeout: 90 },
      { QueueUrl: URL, ReceiptHandle: "handle-2", VisibilityTimeout: 43200 },
    ]);
  });
});
