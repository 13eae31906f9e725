/**
 * OpenShift's generic webhook payload:
 * `{type: "Git", git: {uri, ref, commit, message, author, committer, refs[]}, env[], dockerStrategyOptions}`.
 * Every part is optional; an empty body builds the configured ref.
 */
import { z } from "zod";
import { ValidationError } from "../errors.js";

const Person = z.looseObject({ name: z.string().optional(), email: z.string().optional() });

export const GenericWebhook = z.looseObject({
  type: z.string().optional(),
  git: z
    .looseObject({
      uri: z.string().optional(),
      ref: z.string().optional(),
      commit: z.string().regex(/^[0-9a-f]{7,64}$/i, "expected a commit id (hex)").optional(),
      message: z.string().optional(),
      author: Person.optional(),
      committer: Person.optional(),
      refs: z.array(z.looseObject({ ref: z.string().optional(), commit: z.string().optional() })).optional(),
    })
    .optional(),
  env: z
    .array(z.object({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name"), value: z.string().optional() }))
    .optional(),
  dockerStrategyOptions: z
    .looseObject({
      buildArgs: z.array(z.object({ name: z.string(), value: z.string().optional() })).optional(),
      noCache: z.boolean().optional(),
    })
    .optional(),
});
export type GenericWebhook = z.infer<typeof GenericWebhook>;

export function normalizeGenericWebhook(body: unknown): GenericWebhook {
  const r = GenericWebhook.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ValidationError(`generic webhook payload: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return r.data;
}
