/**
 * Bitbucket push payloads parsed at the edge and normalised into GitRefEvents:
 * Bitbucket Cloud `repo:push` and Bitbucket Data Center (Server)
 * `repo:refs_changed`. One push can change several refs, so each payload
 * gives a list of events, one per change. Only the fields Cascade reads are
 * declared; the rest passes through untouched. Pure: no I/O.
 *
 * Neither flavour lists the files a commit changed, so `changedFiles` is
 * always absent (unknown).
 */
import { z } from "zod";
import type { GitRefEvent } from "../events-in.js";
import { ValidationError } from "../errors.js";
import { parsePayload, payloadError, ZERO_SHA } from "./payload.js";

const ZERO_40 = "0".repeat(40);

// ---------------------------------------------------------------- Cloud

/** A commit author: `raw` is `Name <email>`; `user` is the Bitbucket account when one matches. */
const CloudAuthor = z.looseObject({
  raw: z.string().nullish(),
  display_name: z.string().nullish(),
  user: z.looseObject({ display_name: z.string().nullish() }).nullish(),
});

const CloudRef = z.looseObject({
  type: z.enum(["branch", "tag"]),
  name: z.string().min(1),
  target: z.looseObject({
    hash: z.string(),
    message: z.string().nullish(),
    date: z.string().nullish(),
    author: CloudAuthor.nullish(),
  }),
});

const CloudChange = z.looseObject({
  new: CloudRef.nullish(),
  old: CloudRef.nullish(),
  created: z.boolean().default(false),
  closed: z.boolean().default(false),
});

export const BitbucketCloudPush = z.looseObject({
  actor: z
    .looseObject({ nickname: z.string().nullish(), username: z.string().nullish(), display_name: z.string().nullish() })
    .nullish(),
  repository: z.looseObject({
    full_name: z.string().min(1),
    links: z.looseObject({ html: z.looseObject({ href: z.string() }).nullish() }).nullish(),
  }),
  push: z.looseObject({ changes: z.array(CloudChange) }),
});
export type BitbucketCloudPush = z.infer<typeof BitbucketCloudPush>;

// ---------------------------------------------------------------- Data Center

const ServerPerson = z.looseObject({ name: z.string().nullish(), emailAddress: z.string().nullish() });

const ServerCommit = z.looseObject({
  id: z.string(),
  message: z.string().nullish(),
  authorTimestamp: z.number().nullish(),
  author: ServerPerson.nullish(),
  committer: ServerPerson.nullish(),
});

const ServerChange = z.looseObject({
  ref: z.looseObject({ id: z.string(), displayId: z.string().nullish(), type: z.enum(["BRANCH", "TAG"]) }),
  fromHash: z.string().nullish(),
  toHash: z.string(),
  type: z.enum(["ADD", "UPDATE", "DELETE"]),
});

export const BitbucketServerRefsChanged = z.looseObject({
  eventKey: z.literal("repo:refs_changed").optional(),
  actor: z.looseObject({ name: z.string().nullish(), displayName: z.string().nullish() }).nullish(),
  repository: z.looseObject({
    slug: z.string().min(1),
    project: z.looseObject({ key: z.string().min(1) }),
    links: z
      .looseObject({ clone: z.array(z.looseObject({ href: z.string(), name: z.string().nullish() })).nullish() })
      .nullish(),
  }),
  changes: z.array(ServerChange),
  /** Sent by recent versions: the pushed commits (newest first) and the commit of a single-ref push. */
  commits: z.array(ServerCommit).nullish(),
  toCommit: ServerCommit.nullish(),
});
export type BitbucketServerRefsChanged = z.infer<typeof BitbucketServerRefsChanged>;

// ---------------------------------------------------------------- shared helpers

const CLOUD = "Bitbucket Cloud repo:push payload";
const SERVER = "Bitbucket Data Center repo:refs_changed payload";

/** `${deliveryId}#${i}` when a payload gives several events, so that each is deduplicated on its own. */
function deliveryIdOf(deliveryId: string | undefined, i: number, count: number): { deliveryId?: string } {
  if (!deliveryId) return {};
  return { deliveryId: count > 1 ? `${deliveryId}#${i}` : deliveryId };
}

/** `Name <email>` as Git writes it; anything else is a name. */
function parseRawPerson(raw: string): { name?: string; email?: string } {
  const m = /^(.*?)\s*<([^<>]*)>\s*$/.exec(raw);
  if (!m) return raw.trim() ? { name: raw.trim() } : {};
  return { ...(m[1] ? { name: m[1] } : {}), ...(m[2] ? { email: m[2] } : {}) };
}

function nonEmpty<T extends object>(o: T): T | undefined {
  return Object.keys(o).length > 0 ? o : undefined;
}

// ---------------------------------------------------------------- Cloud normaliser

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Bitbucket Cloud sends no clone URL. When the repository's html link is on
 * bitbucket.org (or there is none), its https and scp-like clone URLs are
 * derived from `full_name`; otherwise the html link is all there is.
 */
function cloudUrls(repo: BitbucketCloudPush["repository"]): string[] {
  const html = repo.links?.html?.href || undefined;
  if (html !== undefined && hostOf(html) !== "bitbucket.org") return [html];
  const derived = [`https://bitbucket.org/${repo.full_name}.git`, `git@bitbucket.org:${repo.full_name}.git`];
  return html === undefined ? derived : [...derived, html];
}

function cloudAuthor(a: z.infer<typeof CloudAuthor> | null | undefined): { name?: string; email?: string } | undefined {
  if (!a) return undefined;
  if (a.raw) return nonEmpty(parseRawPerson(a.raw));
  const name = a.user?.display_name || a.display_name;
  return name ? { name } : undefined;
}

function normalizeCloud(body: unknown, deliveryId: string | undefined): GitRefEvent[] {
  const p = parsePayload(BitbucketCloudPush, body, CLOUD);
  const urls = cloudUrls(p.repository);
  const pusher = p.actor?.nickname || p.actor?.username || p.actor?.display_name || undefined;
  return p.push.changes.map((c, i): GitRefEvent => {
    const ref = c.new ?? c.old;
    if (!ref) payloadError(CLOUD, `push.changes.${i}`, "names no ref (both new and old are null)");
    const deleted = c.closed || !c.new;
    const created = c.created || !c.old;
    const head = deleted ? undefined : c.new?.target;
    const author = cloudAuthor(head?.author);
    return {
      kind: "git.ref",
      provider: "bitbucket",
      ...deliveryIdOf(deliveryId, i, p.push.changes.length),
      repository: { urls, fullName: p.repository.full_name },
      ref: `${ref.type === "tag" ? "refs/tags/" : "refs/heads/"}${ref.name}`,
      refType: ref.type,
      refName: ref.name,
      ...(c.old ? { before: c.old.target.hash } : {}),
      after: deleted ? ZERO_40 : c.new!.target.hash,
      deleted,
      created,
      ...(head
        ? {
            headCommit: {
              id: head.hash,
              ...(head.message != null ? { message: head.message } : {}),
              ...(head.date != null ? { timestamp: head.date } : {}),
              ...(author ? { author } : {}),
            },
          }
        : {}),
      ...(pusher ? { pusher } : {}),
    };
  });
}

// ---------------------------------------------------------------- Data Center normaliser

/** The clone URLs, http first, then ssh, then any other, each once. */
function serverUrls(repo: BitbucketServerRefsChanged["repository"]): string[] {
  const clone = (repo.links?.clone ?? []).filter((l) => l.href.length > 0);
  const rank = (name: string | null | undefined) => (name === "http" ? 0 : name === "ssh" ? 1 : 2);
  const urls = [...new Set([...clone].sort((a, b) => rank(a.name) - rank(b.name)).map((l) => l.href))];
  if (urls.length === 0) payloadError(SERVER, "repository.links.clone", "names no clone URL, so the repository cannot be matched");
  return urls;
}

function serverPerson(p: z.infer<typeof ServerPerson> | null | undefined) {
  if (!p) return undefined;
  return nonEmpty({ ...(p.name ? { name: p.name } : {}), ...(p.emailAddress ? { email: p.emailAddress } : {}) });
}

function serverRef(change: z.infer<typeof ServerChange>, i: number): { refType: "branch" | "tag"; refName: string } {
  const { id, type } = change.ref;
  const prefix = type === "TAG" ? "refs/tags/" : "refs/heads/";
  if (!id.startsWith(prefix) || id.length === prefix.length) {
    const kind = type === "TAG" ? "a tag (refs/tags/...)" : "a branch (refs/heads/...)";
    payloadError(SERVER, `changes.${i}.ref.id`, `${JSON.stringify(id)} is not ${kind} as its type ${type} says`);
  }
  return { refType: type === "TAG" ? "tag" : "branch", refName: id.slice(prefix.length) };
}

function normalizeServer(body: unknown, deliveryId: string | undefined): GitRefEvent[] {
  const p = parsePayload(BitbucketServerRefsChanged, body, SERVER);
  const urls = serverUrls(p.repository);
  const fullName = `${p.repository.project.key}/${p.repository.slug}`;
  const pusher = p.actor?.name || p.actor?.displayName || undefined;
  const known = [...(p.toCommit ? [p.toCommit] : []), ...(p.commits ?? [])];
  return p.changes.map((c, i): GitRefEvent => {
    const { refType, refName } = serverRef(c, i);
    const deleted = c.type === "DELETE" || ZERO_SHA.test(c.toHash);
    const created = c.type === "ADD" || (c.fromHash != null && ZERO_SHA.test(c.fromHash));
    const head = deleted ? undefined : known.find((k) => k.id === c.toHash);
    const author = serverPerson(head?.author);
    const committer = serverPerson(head?.committer);
    return {
      kind: "git.ref",
      provider: "bitbucket",
      ...deliveryIdOf(deliveryId, i, p.changes.length),
      repository: { urls, fullName },
      ref: c.ref.id,
      refType,
      refName,
      ...(c.fromHash ? { before: c.fromHash } : {}),
      after: c.toHash,
      deleted,
      created,
      ...(head
        ? {
            headCommit: {
              id: head.id,
              ...(head.message != null ? { message: head.message } : {}),
              ...(head.authorTimestamp != null ? { timestamp: new Date(head.authorTimestamp).toISOString() } : {}),
              ...(author ? { author } : {}),
              ...(committer ? { committer } : {}),
            },
          }
        : {}),
      ...(pusher ? { pusher } : {}),
    };
  });
}

// ---------------------------------------------------------------- entry point

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Normalise a Bitbucket push: a Cloud `repo:push` (it has `push.changes`) or a
 * Data Center `repo:refs_changed` (it has `changes`), told apart by shape.
 * One event per ref change, in the payload's order; an empty list when the
 * push changed no ref. With several changes, each event's deliveryId is
 * `${deliveryId}#${i}`.
 */
export function normalizeBitbucketPush(body: unknown, deliveryId?: string): GitRefEvent[] {
  if (isObject(body) && "push" in body) return normalizeCloud(body, deliveryId);
  if (isObject(body) && ("changes" in body || "eventKey" in body)) return normalizeServer(body, deliveryId);
  throw new ValidationError(
    "Bitbucket push payload: (root): expected a Cloud repo:push (with push.changes) or a Data Center repo:refs_changed (with changes)",
  );
}
