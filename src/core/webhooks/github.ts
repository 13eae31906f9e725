/**
 * GitHub webhook payloads (`push`, `create`, `ping`) parsed at the edge and
 * normalised into a GitRefEvent. Only the fields Cascade reads are declared;
 * the rest of GitHub's payload passes through untouched.
 */
import { z } from "zod";
import type { GitRefEvent } from "../events-in.js";
import { parsePayload, splitRef, ZERO_SHA } from "./payload.js";

const Person = z.looseObject({ name: z.string().nullish(), email: z.string().nullish(), username: z.string().nullish() });

const Commit = z.looseObject({
  id: z.string(),
  message: z.string().nullish(),
  timestamp: z.string().nullish(),
  author: Person.nullish(),
  committer: Person.nullish(),
  added: z.array(z.string()).nullish(),
  removed: z.array(z.string()).nullish(),
  modified: z.array(z.string()).nullish(),
});

const Repository = z.looseObject({
  full_name: z.string(),
  clone_url: z.string().nullish(),
  ssh_url: z.string().nullish(),
  git_url: z.string().nullish(),
  html_url: z.string().nullish(),
  url: z.string().nullish(),
  default_branch: z.string().nullish(),
  master_branch: z.string().nullish(),
});

export const GitHubPush = z.looseObject({
  ref: z.string(),
  before: z.string().nullish(),
  after: z.string(),
  created: z.boolean().default(false),
  deleted: z.boolean().default(false),
  commits: z.array(Commit).nullish(),
  head_commit: Commit.nullish(),
  repository: Repository,
  pusher: Person.nullish(),
});
export type GitHubPush = z.infer<typeof GitHubPush>;

export const GitHubCreate = z.looseObject({
  ref: z.string(),
  ref_type: z.enum(["tag", "branch"]),
  master_branch: z.string().nullish(),
  repository: Repository,
  sender: z.looseObject({ login: z.string() }).nullish(),
});
export type GitHubCreate = z.infer<typeof GitHubCreate>;

function repositoryUrls(repo: z.infer<typeof Repository>): string[] {
  const urls = [repo.clone_url, repo.ssh_url, repo.git_url, repo.html_url].filter(
    (u): u is string => typeof u === "string" && u.length > 0,
  );
  return urls.length > 0 ? urls : [repo.url ?? repo.full_name];
}

function person(p: z.infer<typeof Person> | null | undefined) {
  if (!p) return undefined;
  return { ...(p.name ? { name: p.name } : {}), ...(p.email ? { email: p.email } : {}) };
}

/** Normalise a GitHub `push` payload. */
export function normalizeGitHubPush(body: unknown, deliveryId?: string): GitRefEvent {
  const p = parsePayload(GitHubPush, body, "GitHub push payload");
  const { refType, refName } = splitRef(p.ref, "GitHub push payload");
  const deleted = p.deleted || ZERO_SHA.test(p.after);
  const commits = p.commits ?? [];
  const head = p.head_commit ?? undefined;
  const changed = new Set<string>();
  let listed = false;
  for (const c of head && commits.length === 0 ? [head] : commits) {
    for (const f of [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])]) {
      changed.add(f);
      listed = true;
    }
  }
  return {
    kind: "git.ref",
    provider: "github",
    ...(deliveryId ? { deliveryId } : {}),
    repository: {
      urls: repositoryUrls(p.repository),
      fullName: p.repository.full_name,
      ...(p.repository.default_branch || p.repository.master_branch
        ? { defaultBranch: (p.repository.default_branch ?? p.repository.master_branch)! }
        : {}),
    },
    ref: p.ref,
    refType,
    refName,
    ...(p.before ? { before: p.before } : {}),
    after: p.after,
    deleted,
    created: p.created,
    ...(head
      ? {
          headCommit: {
            id: head.id,
            ...(head.message != null ? { message: head.message } : {}),
            ...(head.timestamp != null ? { timestamp: head.timestamp } : {}),
            ...(person(head.author) ? { author: person(head.author)! } : {}),
            ...(person(head.committer) ? { committer: person(head.committer)! } : {}),
          },
        }
      : {}),
    ...(listed || (commits.length > 0 && !deleted) ? { changedFiles: [...changed].sort() } : {}),
    ...(p.pusher?.name ? { pusher: p.pusher.name } : {}),
  };
}

/**
 * Normalise a GitHub `create` payload. GitHub sends no commit id with it, so
 * the event carries the ref only (`after` empty); the tag's commit is resolved
 * by the builder's git. Branch creations are returned too, with refType branch.
 */
export function normalizeGitHubCreate(body: unknown, deliveryId?: string): GitRefEvent {
  const c = parsePayload(GitHubCreate, body, "GitHub create payload");
  const ref = c.ref_type === "tag" ? `refs/tags/${c.ref}` : `refs/heads/${c.ref}`;
  return {
    kind: "git.ref",
    provider: "github",
    ...(deliveryId ? { deliveryId } : {}),
    repository: {
      urls: repositoryUrls(c.repository),
      fullName: c.repository.full_name,
      ...(c.repository.default_branch ? { defaultBranch: c.repository.default_branch } : {}),
    },
    ref,
    refType: c.ref_type,
    refName: c.ref,
    after: "",
    deleted: false,
    created: true,
  };
}
