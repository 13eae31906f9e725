import { describe, expect, it } from "vitest";
import { CascadeError, NotFoundError, ValidationError } from "../../core/errors.js";
import { sdkError } from "../../../test/support/aws-fakes.js";
import { isTemporaryAwsError, translateAwsError } from "./sdk-errors.js";

describe("AWS SDK errors as Cascade's errors", () => {
  it.each([
    ["ThrottlingException", 400, true],
    ["ServerException", 500, true],
    ["ServiceUnavailableException", 503, true],
    ["AccessDeniedException", 403, false],
    ["InvalidParameterException", 400, false],
    ["SomethingNew", 429, true],
    ["SomethingNew", 502, true],
    ["SomethingNew", 400, false],
  ])("%s (HTTP %i) is temporary: %s", (name, status, temporary) => {
    expect(isTemporaryAwsError(sdkError(name, "x", status))).toBe(temporary);
    expect(translateAwsError(sdkError(name, "x", status), "op").temporary).toBe(temporary);
  });

  it("treats network failures as temporary", () => {
    expect(isTemporaryAwsError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe(true);
  });

  it("maps not-found, invalid and access errors to codes, naming the operation and the value", () => {
    const nf = translateAwsError(sdkError("ClusterNotFoundException", "Cluster not found."), 'ECS RunTask on cluster "builders"');
    expect(nf).toBeInstanceOf(NotFoundError);
    expect(nf.message).toBe('ECS RunTask on cluster "builders": ClusterNotFoundException: Cluster not found.');
    expect(translateAwsError(sdkError("InvalidParameterException", "bad subnet"), "op")).toBeInstanceOf(ValidationError);
    const denied = translateAwsError(sdkError("AccessDeniedException", "no", 403), "op");
    expect([denied.code, denied.temporary]).toEqual(["AccessDenied", false]);
    const other = translateAwsError(sdkError("WeirdException", "hm"), "op");
    expect(other.code).toBe("AwsError");
    expect(other.cause).toBeInstanceOf(Error);
  });

  it("passes Cascade's own errors through unchanged", () => {
    const e = new CascadeError("CapacityUnavailable", "none", { temporary: true });
    expect(translateAwsError(e, "op")).toBe(e);
    expect(isTemporaryAwsError(e)).toBe(true);
  });
});
