/**
 * Gitea and Forgejo webhook payloads (`push`, `create`, `delete`; header
 * `X-Gitea-Event` or `X-Forgejo-Event`) parsed at the edge and normalised into
 * a GitRefEvent. The payloads are GitHub-like; only the fields Cascade reads
 * are declared. Pure: no I/O.
 *
 * Gitea specifics handled here:
 * - A push has no `created`/`deleted` flags: an all-zero `before` or `after` says so.
 * - A new tag is a push with no commits; a deleted tag is a push with an
 *   all-zero `after`. A deleted branch sends no push at all, only a `delete`
 *   event (services/repository/push.go), hence {@link normalizeGiteaDelete}.
 * - `commits` is cut to the newest few (`[ui] FEED_MAX_COMMIT_NUM`, 5 by
 *   default) while `total_commits` counts them all; when it is larger, the
 *   changed files are unknown.
 * - `create` and `delete` name the ref by its short name (`ref: "v1.0.0"`,
 *   with `ref_type`); a full `refs/...` name is accepted too.
 */
import { z } from "zod";
import type { GitRefEvent } from "../events-in.js";
import { parsePayload, payloadError, splitRef, ZERO_SHA } from "./payload.js";

const ZERO_40 = "0".repeat(40);

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
  full_name: z.string().min(1),
  clone_url: z.string().nullish(),
  ssh_url: z.string().nullish(),
  html_url: z.string().nullish(),
  default_branch: z.string().nullish(),
});

const User = z.looseObject({ login: z.string().nullish(), username: z.string().nullish() });

export const GiteaPush = z.looseObject({
  ref: z.string(),
  before: z.string().nullish(),
  after: z.string(),
  commits: z.array(Commit).nullish(),
  total_commits: z.number().int().nonnegative().nullish(),
  head_commit: Commit.nullish(),
  repository: Repository,
  pusher: User.nullish(),
});
export type GiteaPush = z.infer<typeof GiteaPush>;

export const GiteaCreate = z.looseObject({
  ref: z.string().min(1),
  ref_type: z.enum(["branch", "tag"]),
  sha: z.string().min(1),
  repository: Repository,
  sender: User.nullish(),
});
export type GiteaCreate = z.infer<typeof GiteaCreate>;

export const GiteaDelete = z.looseObject({
  ref: z.string().min(1),
  ref_type: z.enum(["branch", "tag"]),
  repository: Repository,
  sender: User.nullish(),
});
export type GiteaDelete = z.infer<typeof GiteaDelete>;

type Event = "push" | "create" | "delete";

const what = (event: Event) => `Gitea ${event} payload`;
function fail(event: Event, path: string, message: string): never {
  return payloadError(what(event), path, message);
}
const parseOrThrow = <T>(schema: z.ZodType<T>, body: unknown, event: Event): T => parsePayload(schema, body, what(event));

const PREFIX = { branch: "refs/heads/", tag: "refs/tags/" } as const;

/** `create`/`delete` give the short name; a full name of the same kind is accepted and shortened. */
function namedRef(event: Event, ref: string, refType: "branch" | "tag") {
  const prefix = PREFIX[refType];
  const refName = ref.startsWith(prefix) ? ref.slice(prefix.length) : ref;
  if (refName === "" || refName.startsWith("refs/")) {
    fail(event, "ref", `${JSON.stringify(ref)} is not a ${refType} name (ref_type is ${refType})`);
  }
  return { ref: `${prefix}${refName}`, refType, refName };
}

function repository(event: Event, repo: z.infer<typeof Repository>): GitRefEvent["repository"] {
  const urls = [...new Set([repo.clone_url, repo.ssh_url, repo.html_url].filter((u): u is string => !!u))];
  if (urls.length === 0) fail(event, "repository", "names no repository URL (clone_url, ssh_url or html_url)");
  return { urls, fullName: repo.full_name, ...(repo.default_branch ? { defaultBranch: repo.default_branch } : {}) };
}

function person(p: z.infer<typeof Person> | null | undefined) {
  if (!p) return undefined;
  const o = { ...(p.name ? { name: p.name } : {}), ...(p.email ? { email: p.email } : {}) };
  return Object.keys(o).length > 0 ? o : undefined;
}

function login(u: z.infer<typeof User> | null | undefined): { pusher?: string } {
  const name = u?.login || u?.username;
  return name ? { pusher: name } : {};
}

/**
 * The sorted union of the files the commits list, or `undefined` when it is
 * not known: no commits, a commit without file lists, or more commits pushed
 * than listed (`total_commits`).
 */
function changedFiles(p: GiteaPush): string[] | undefined {
  const commits = p.commits ?? [];
  if (commits.length === 0) return undefined;
  if (p.total_commits != null && p.total_commits > commits.length) return undefined;
  if (!commits.every((c) => c.added != null || c.modified != null || c.removed != null)) return undefined;
  const files = new Set<string>();
  for (const c of commits) for (const f of [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])]) files.add(f);
  return [...files].sort();
}

/** Normalise a Gitea/Forgejo `push` payload (branches and tags, created, updated or deleted). */
export function normalizeGiteaPush(body: unknown, deliveryId?: string): GitRefEvent {
  const p = parseOrThrow(GiteaPush, body, "push");
  const { refType, refName } = splitRef(p.ref, what("push"));
  const deleted = ZERO_SHA.test(p.after);
  const head = deleted ? undefined : (p.head_commit ?? (p.commits ?? []).find((c) => c.id === p.after));
  const files = deleted ? undefined : changedFiles(p);
  const author = person(head?.author);
  const committer = person(head?.committer);
  return {
    kind: "git.ref",
    provider: "gitea",
    ...(deliveryId ? { deliveryId } : {}),
    repository: repository("push", p.repository),
    ref: p.ref,
    refType,
    refName,
    ...(p.before ? { before: p.before } : {}),
    after: p.after,
    deleted,
    created: p.before != null && ZERO_SHA.test(p.before),
    ...(head
      ? {
          headCommit: {
            id: head.id,
            ...(head.message != null ? { message: head.message } : {}),
            ...(head.timestamp != null ? { timestamp: head.timestamp } : {}),
            ...(author ? { author } : {}),
            ...(committer ? { committer } : {}),
          },
        }
      : {}),
    ...(files ? { changedFiles: files } : {}),
    ...login(p.pusher),
  };
}

/**
 * Normalise a Gitea/Forgejo `create` payload: a branch or tag was created.
 * Unlike GitHub's, it carries the commit (`sha`). Gitea also sends a `push`
 * for the same new ref, under another delivery id, so a handler that acts on
 * both sees the commit twice (the planner's coalescing and unchanged-inputs
 * check absorb it).
 */
export function normalizeGiteaCreate(body: unknown, deliveryId?: string): GitRefEvent {
  const c = parseOrThrow(GiteaCreate, body, "create");
  return {
    kind: "git.ref",
    provider: "gitea",
    ...(deliveryId ? { deliveryId } : {}),
    repository: repository("create", c.repository),
    ...namedRef("create", c.ref, c.ref_type),
    after: c.sha,
    deleted: false,
    created: true,
    ...login(c.sender),
  };
}

/**
 * Normalise a Gitea/Forgejo `delete` payload: a branch or tag was deleted.
 * It names no commit, so `after` is all zeros, as for a deleted ref in a push.
 */
export function normalizeGiteaDelete(body: unknown, deliveryId?: string): GitRefEvent {
  const d = parseOrThrow(GiteaDelete, body, "delete");
  return {
    kind: "git.ref",
    provider: "gitea",
    ...(deliveryId ? { deliveryId } : {}),
    repository: repository("delete", d.repository),
    ...namedRef("delete", d.ref, d.ref_type),
    after: ZERO_40,
    deleted: true,
    created: false,
    ...login(d.sender),
  };
}
