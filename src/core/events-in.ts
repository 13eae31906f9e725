import { z } from "zod";

/**
 * Normalised inbound events. Every provider payload (GitHub, GitLab, generic,
 * registry notifications...) is parsed at the edge and turned into one of
 * these before the planner sees it.
 */
export const GitProvider = z.enum(["github", "gitlab", "bitbucket", "gitea", "generic"]);
export type GitProvider = z.infer<typeof GitProvider>;

export const GitPerson = z.object({ name: z.string().optional(), email: z.string().optional() });

export const GitRefEvent = z.object({
  kind: z.literal("git.ref"),
  provider: GitProvider,
  /** Provider delivery id (e.g. X-GitHub-Delivery) used for idempotency. */
  deliveryId: z.string().optional(),
  repository: z.object({
    /** Every URL the payload gives for the repository (clone, ssh, html...). Matching normalises them. */
    urls: z.array(z.string()).min(1),
    fullName: z.string().optional(),
    defaultBranch: z.string().optional(),
  }),
  /** Full ref, e.g. `refs/heads/main` or `refs/tags/v1.2.3`. */
  ref: z.string(),
  refType: z.enum(["branch", "tag"]),
  /** Short ref name: `main`, `v1.2.3`. */
  refName: z.string(),
  before: z.string().optional(),
  /** The commit the ref now points at (all zeros when deleted). */
  after: z.string(),
  deleted: z.boolean(),
  created: z.boolean(),
  headCommit: z
    .object({
      id: z.string(),
      message: z.string().optional(),
      timestamp: z.string().optional(),
      author: GitPerson.optional(),
      committer: GitPerson.optional(),
    })
    .optional(),
  /** Union of added, modified and removed paths when the payload lists them; absent when unknown. */
  changedFiles: z.array(z.string()).optional(),
  pusher: z.string().optional(),
});
export type GitRefEvent = z.infer<typeof GitRefEvent>;
