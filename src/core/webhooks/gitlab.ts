/**
 * GitLab "Push Hook" and "Tag Push Hook" payloads (`object_kind` `push` and
 * `tag_push`) parsed at the edge and normalised into a GitRefEvent. Only the
 * fields Cascade reads are declared; the rest of GitLab's payload passes
 * through untouched. Pure: no I/O.
 *
 * GitLab specifics handled here:
 * - `checkout_sha` is the commit the ref points at. For an annotated tag
 *   `after` is the tag object and `checkout_sha` its commit, so the event's
 *   `after` is `checkout_sha` when GitLab gives one.
 * - A deleted branch or tag comes as an all-zero `after` and `checkout_sha: null`.
 * - `commits` holds the newest 20 commits only; `total_commits_count` is the
 *   real number. When it is larger, the changed files are unknown.
 */
import { z } from "zod";
import type { GitRefEvent } from "../events-in.js";
import { parsePayload, payloadError, splitRef, ZERO_SHA } from "./payload.js";


const Author = z.looseObject({ name: z.string().nullish(), email: z.string().nullish() });

const Commit = z.looseObject({
  id: z.string(),
  message: z.string().nullish(),
  timestamp: z.string().nullish(),
  author: Author.nullish(),
  added: z.array(z.string()).nullish(),
  modified: z.array(z.string()).nullish(),
  removed: z.array(z.string()).nullish(),
});

const Project = z.looseObject({
  path_with_namespace: z.string(),
  git_http_url: z.string().nullish(),
  git_ssh_url: z.string().nullish(),
  web_url: z.string().nullish(),
  default_branch: z.string().nullish(),
  // Deprecated since GitLab 8.5 and still sent: the same URLs under older names.
  http_url: z.string().nullish(),
  ssh_url: z.string().nullish(),
  url: z.string().nullish(),
  homepage: z.string().nullish(),
});

/** The deprecated top-level `repository` object; it can carry an `ssh://` form that `project` does not. */
const LegacyRepository = z.looseObject({
  git_http_url: z.string().nullish(),
  git_ssh_url: z.string().nullish(),
  url: z.string().nullish(),
  homepage: z.string().nullish(),
});

export const GitLabPush = z.looseObject({
  object_kind: z.enum(["push", "tag_push"]).optional(),
  ref: z.string(),
  before: z.string().nullish(),
  after: z.string(),
  checkout_sha: z.string().nullish(),
  user_username: z.string().nullish(),
  user_name: z.string().nullish(),
  project: Project,
  repository: LegacyRepository.nullish(),
  commits: z.array(Commit).nullish(),
  total_commits_count: z.number().int().nonnegative().nullish(),
});
export type GitLabPush = z.infer<typeof GitLabPush>;

export type GitLabEventKind = "push" | "tag_push";

/**
 * The kind of a GitLab delivery from its `X-Gitlab-Event` header: `Push Hook`
 * is `push`, `Tag Push Hook` is `tag_push` (case and surrounding spaces
 * ignored). Any other event (merge requests, pipelines, `System Hook`...) is
 * `undefined`: Cascade does not build from it.
 */
export function gitlabEventKind(headerValue: string | null | undefined): GitLabEventKind | undefined {
  switch (headerValue?.trim().toLowerCase()) {
    case "push hook":
      return "push";
    case "tag push hook":
      return "tag_push";
    default:
      return undefined;
  }
}

const WHAT = "GitLab push payload";
function fail(path: string, message: string): never {
  return payloadError(WHAT, path, message);
}
const parse = (body: unknown): GitLabPush => parsePayload(GitLabPush, body, WHAT);

/** Every repository URL the payload gives, in a stable order, each once. */
function repositoryUrls(p: GitLabPush): string[] {
  const { project: pr, repository: legacy } = p;
  const all = [
    pr.git_http_url,
    pr.git_ssh_url,
    pr.web_url,
    pr.http_url,
    pr.ssh_url,
    pr.url,
    pr.homepage,
    legacy?.git_http_url,
    legacy?.git_ssh_url,
    legacy?.url,
    legacy?.homepage,
  ].filter((u): u is string => typeof u === "string" && u.length > 0);
  const urls = [...new Set(all)];
  if (urls.length === 0) fail("project", "names no repository URL (git_http_url, git_ssh_url or web_url)");
  return urls;
}

/**
 * The sorted union of the files the commits list, or `undefined` when it is
 * not known: no commits, a commit without file lists, or more commits pushed
 * than listed (`total_commits_count`).
 */
function changedFiles(p: GitLabPush): string[] | undefined {
  const commits = p.commits ?? [];
  if (commits.length === 0) return undefined;
  if (p.total_commits_count != null && p.total_commits_count > commits.length) return undefined;
  if (!commits.every((c) => c.added != null || c.modified != null || c.removed != null)) return undefined;
  const files = new Set<string>();
  for (const c of commits) for (const f of [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])]) files.add(f);
  return [...files].sort();
}

/** Normalise a GitLab `Push Hook` or `Tag Push Hook` payload. */
export function normalizeGitLabPush(body: unknown, deliveryId?: string): GitRefEvent {
  const p = parse(body);
  const { refType, refName } = splitRef(p.ref, WHAT);
  const deleted = ZERO_SHA.test(p.after) || p.checkout_sha === null;
  const after = p.checkout_sha ?? p.after;
  const head = deleted ? undefined : (p.commits ?? []).find((c) => c.id === after);
  const author = head?.author
    ? { ...(head.author.name ? { name: head.author.name } : {}), ...(head.author.email ? { email: head.author.email } : {}) }
    : undefined;
  const files = deleted ? undefined : changedFiles(p);
  const pusher = p.user_username || p.user_name || undefined;
  return {
    kind: "git.ref",
    provider: "gitlab",
    ...(deliveryId ? { deliveryId } : {}),
    repository: {
      urls: repositoryUrls(p),
      fullName: p.project.path_with_namespace,
      ...(p.project.default_branch ? { defaultBranch: p.project.default_branch } : {}),
    },
    ref: p.ref,
    refType,
    refName,
    ...(p.before ? { before: p.before } : {}),
    after,
    deleted,
    created: p.before != null && ZERO_SHA.test(p.before),
    ...(head
      ? {
          headCommit: {
            id: head.id,
            ...(head.message != null ? { message: head.message } : {}),
            ...(head.timestamp != null ? { timestamp: head.timestamp } : {}),
            ...(author && Object.keys(author).length > 0 ? { author } : {}),
          },
        }
      : {}),
    ...(files ? { changedFiles: files } : {}),
    ...(pusher ? { pusher } : {}),
  };
}
