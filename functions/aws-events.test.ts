/**
 * The event envelopes at the functions' edge, on the captured AWS samples
 * (test/fixtures/aws, from the AWS documentation), and malformed cases
 * derived from them with structuredClone and delete: each names the field.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../src/core/errors.js";
import { imageUpdatedEvent } from "../src/core/image-updated.js";
import { EcrImageAction, EcsTaskStateChange, ImageUpdatedBusEvent, LaunchMessage, parseEvent, SqsRecord } from "./aws-events.js";

const fixture = (p: string) => JSON.parse(readFileSync(new URL(`../test/fixtures/aws/${p}`, import.meta.url), "utf8"));
const DIGEST = `sha256:${"7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234"}0000`;

function without(value: any, path: string) {
  const copy = structuredClone(value);
  const keys = path.split(".");
  let at = copy;
  for (const k of keys.slice(0, -1)) at = at[k];
  delete at[keys.at(-1)!];
  return copy;
}

describe("ECR Image Action", () => {
  const push = fixture("ecr/image-push.json");

  it("parses the documented push once its digest has 64 hex digits, and refuses it as published", () => {
    expect(() => parseEvent(EcrImageAction, push, "ECR Image Action event")).toThrow(/detail\.image-digest: .*"sha256:7f5b2640.*sha256 needs 64 lowercase hex/);
    const e = parseEvent(EcrImageAction, { ...push, detail: { ...push.detail, "image-digest": DIGEST } }, "ECR Image Action event");
    expect(e.detail).toMatchObject({ "action-type": "PUSH", result: "SUCCESS", "repository-name": "my-repository-name", "image-tag": "latest" });
    expect([e.account, e.region, e.id]).toEqual(["123456789012", "us-west-2", "13cde686-328b-6117-af20-0e5566167482"]);
  });

  it("parses the documented delete", () => {
    const del = fixture("ecr/image-delete.json");
    const fixed = structuredClone(del);
    if (fixed.detail["image-digest"].length !== 71) fixed.detail["image-digest"] = DIGEST;
    expect(parseEvent(EcrImageAction, fixed, "e").detail["action-type"]).toBe("DELETE");
  });

  it.each(["detail.repository-name", "detail.action-type", "detail.result", "detail-type", "account", "id"])("names a missing %s", (path) => {
    const e = without({ ...push, detail: { ...push.detail, "image-digest": DIGEST } }, path);
    const err = (() => {
      try {
        parseEvent(EcrImageAction, e, "ECR Image Action event");
      } catch (x) {
        return x as ValidationError;
      }
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect(err!.message).toContain(`ECR Image Action event: ${path}:`);
  });
});

describe("ECS Task State Change", () => {
  const change = fixture("ecs/task-state-change.json");

  it("parses the documented event", () => {
    const e = parseEvent(EcsTaskStateChange, change, "e");
    expect(e.detail).toMatchObject({
      clusterArn: "arn:aws:ecs:us-west-2:111122223333:cluster/FargateCluster",
      lastStatus: "RUNNING",
      containers: [{ name: "FargateApp", lastStatus: "RUNNING" }],
      overrides: { containerOverrides: [{ name: "FargateApp" }] },
    });
  });

  it.each(["detail.taskArn", "detail.clusterArn", "detail.containers", "detail.lastStatus"])("names a missing %s", (path) => {
    expect(() => parseEvent(EcsTaskStateChange, without(change, path), "ECS Task State Change event")).toThrow(`ECS Task State Change event: ${path}:`);
  });

  it("names a container exit code that is not a number", () => {
    const e = structuredClone(change);
    e.detail.containers[0].exitCode = "0";
    expect(() => parseEvent(EcsTaskStateChange, e, "e")).toThrow("e: detail.containers.0.exitCode:");
  });
});

describe("cascade.image.updated from the bus", () => {
  const ce = imageUpdatedEvent(
    { image: "012345678910.dkr.ecr.us-west-2.example.test/base:latest", digest: DIGEST, via: "ECR push", delivery: { provider: "ecr", id: "e-1" } },
    { id: "ce-1", source: "urn:cascade:aws:cascade-dev", time: "2026-11-25T10:00:00.000Z" },
  );
  // As EventBridge delivers an entry put with Source, DetailType and Detail (the structured CloudEvent).
  const delivered = {
    version: "0",
    id: "eb-1",
    "detail-type": "cascade.image.updated",
    source: "urn:cascade:aws:cascade-dev",
    account: "111122223333",
    time: "2026-11-25T10:00:00Z",
    region: "us-west-2",
    resources: [],
    detail: JSON.parse(JSON.stringify(ce)),
  };

  it("parses what the bus delivers", () => {
    expect(parseEvent(ImageUpdatedBusEvent, delivered, "e").detail.data).toEqual(ce.data);
    expect(Object.isFrozen(ce) && Object.isFrozen(ce.data)).toBe(true);
  });

  it.each(["detail.data.digest", "detail.data.delivery", "detail.specversion", "detail.data"])("names a missing %s", (path) => {
    expect(() => parseEvent(ImageUpdatedBusEvent, without(delivered, path), "cascade.image.updated event")).toThrow(`cascade.image.updated event: ${path}:`);
  });
});

describe("SQS records and launch messages", () => {
  const record = {
    messageId: "059f36b4-87a3-44ab-83d2-661975830a7d",
    receiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
    body: JSON.stringify({ namespace: "shop", id: "web-3" }),
    attributes: { ApproximateReceiveCount: "2", SentTimestamp: "1545082649183" },
    messageAttributes: {},
    md5OfBody: "e4e68fb7bd0e697a0ae8f1bb342846b3",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-2:123456789012:my-queue",
    awsRegion: "us-east-2",
  };

  it("reads the receive count as a number", () => {
    expect(parseEvent(SqsRecord, record, "r").attributes.ApproximateReceiveCount).toBe(2);
  });

  it("names bad fields of a record and of a launch message", () => {
    expect(() => parseEvent(SqsRecord, without(record, "receiptHandle"), "SQS event: Records.0")).toThrow("SQS event: Records.0: receiptHandle:");
    expect(() => parseEvent(LaunchMessage, { namespace: "shop" }, "launch message m-1")).toThrow("launch message m-1: id:");
  });
});
