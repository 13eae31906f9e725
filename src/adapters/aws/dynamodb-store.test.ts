/** The DynamoDB store's pure parts: SDK errors as Cascade's errors, and build ids back to their keys. */
import {
  ConditionalCheckFailedException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { buildId } from "../../core/build.js";
import { CascadeError, ConflictError } from "../../core/errors.js";
import { parseBuildId, translateDynamoError } from "./dynamodb-store.js";

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

describe("translateDynamoError", () => {
  it("marks throttling, 5xx and refused connections temporary", () => {
    const cases: unknown[] = [
      new ProvisionedThroughputExceededException({ message: "slow down", ...meta(400) }),
      new InternalServerError({ message: "oops", ...meta(500) }),
      Object.assign(new Error("boom"), { name: "ServiceUnavailable", $metadata: { httpStatusCode: 503 } }),
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
      new TransactionCanceledException({ message: "cancelled", CancellationReasons: [{ Code: "ThrottlingError" }, { Code: "None" }], ...meta(400) }),
    ];
    for (const e of cases) {
      const t = translateDynamoError(e, 'get build "ns/web-1"');
      expect([t.code, t.temporary], String(e)).toEqual(["StoreError", true]);
    }
  });

  it("keeps other failures permanent, naming the operation and the SDK error", () => {
    const missing = new ResourceNotFoundException({ message: "Requested resource not found", ...meta(400) });
    const t = translateDynamoError(missing, 'table "t": list builds');
    expect([t.code, t.temporary, t.message]).toEqual([
      "StoreError",
      false,
      'table "t": list builds: DynamoDB ResourceNotFoundException: Requested resource not found',
    ]);
    expect(translateDynamoError(new TypeError("bug"), "x").temporary).toBe(false);
    const cancelled = translateDynamoError(
      new TransactionCanceledException({ message: "c", CancellationReasons: [{ Code: "ValidationError" }, { Code: "None" }], ...meta(400) }),
      "enqueue builds",
    );
    expect([cancelled.temporary, cancelled.message]).toEqual([false, "enqueue builds: DynamoDB cancelled the transaction (ValidationError, None)"]);
  });

  it("turns a failed condition into ConflictError and passes Cascade's errors through", () => {
    const t = translateDynamoError(new ConditionalCheckFailedException({ message: "The conditional request failed", ...meta(400) }), "w");
    expect(t).toBeInstanceOf(ConflictError);
    const own = new CascadeError("X", "mine");
    expect(translateDynamoError(own, "w")).toBe(own);
  });
});

describe("parseBuildId", () => {
  it("inverts buildId, also for names that end in digits or contain dashes", () => {
    for (const [name, n] of [
      ["web", 1],
      ["web-app", 12],
      ["web-2", 3],
      ["a.b-c", 9_999_999_999],
    ] as const) {
      expect(parseBuildId(buildId(name, n))).toEqual({ buildConfig: name, number: n });
    }
  });

  it("refuses what buildId never makes", () => {
    for (const id of ["web", "web-", "-3", "web-0", "web-03", "web-1x", "web-12345678901"]) expect(parseBuildId(id), id).toBeUndefined();
  });
});
