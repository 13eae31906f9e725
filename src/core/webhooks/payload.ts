/**
 * What every provider's payload parser shares: schema parsing at the edge with
 * an error that names the payload and the field path, and the split of a full
 * git ref into a branch or tag name.
 */
import type { z } from "zod";
import { ValidationError } from "../errors.js";

/** All zeros: the commit of a deleted (or not yet existing) ref. */
export const ZERO_SHA = /^0+$/;

/** Throw a ValidationError `<what>: <path>: <message>`, e.g. `GitHub push payload: repository.full_name: ...`. */
export function payloadError(what: string, path: string, message: string): never {
  throw new ValidationError(`${what}: ${path}: ${message}`);
}

export function parsePayload<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    payloadError(what, issue.path.join(".") || "(root)", issue.message);
  }
  return parsed.data;
}

const PREFIX = { branch: "refs/heads/", tag: "refs/tags/" } as const;

/** `refs/heads/main` -> branch main; `refs/tags/v1` -> tag v1; anything else (or an empty name) is an error naming `what`. */
export function splitRef(ref: string, what: string): { refType: "branch" | "tag"; refName: string } {
  for (const refType of ["branch", "tag"] as const) {
    const prefix = PREFIX[refType];
    if (ref.startsWith(prefix) && ref.length > prefix.length) return { refType, refName: ref.slice(prefix.length) };
  }
  return payloadError(what, "ref", `${JSON.stringify(ref)} is neither a branch (refs/heads/...) nor a tag (refs/tags/...)`);
}
