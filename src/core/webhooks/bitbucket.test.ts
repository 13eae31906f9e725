/**
 * Unit tests for the Bitbucket push normaliser, over the payload examples of
 * Atlassian's Bitbucket Cloud and Data Center documentation
 * (test/fixtures/webhooks/bitbucket, sources and edits in the README there).
 * Every other case is derived from them with `structuredClone` plus an edit.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { GitRefEvent } from "../events-in.js";
import { normalizeGitUrl, sameRepository } from "../git-url.js";
import { normalizeBitbucketPush } from "./bitbucket.js";

/** Webhook payloads are edited freely in derived cases. */
type Json = Record<string, any>;

function fixture(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../../../test/fixtures/webhooks/bitbucket/${name}`, import.meta.url), "utf8")) as Json;
}

const cloudBranch = fixture("cloud-push-branch.json");
const cloudTag = fixture("cloud-push-tag.json");
const cloudBranchDeleted = fixture("cloud-delete-branch.json");
const cloudTagDeleted = fixture("cloud-delete-tag.json");
const serverBranch = fixture("server-push-branch.json");
const serverTag = fixture("server-push-tag.json");
const serverBranchDeleted = fixture("server-delete-branch.json");
const serverTagDeleted = fixture("server-delete-tag.json");

/** A deep copy of a fixture with one edit applied: the fixtures themselves are never touched. */
function derive(base: Json, edit: (p: Json) => void): Json {
  const copy = structuredClone(base);
  edit(copy);
  return copy;
}

function thrown(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error("expected a ValidationError, nothing was thrown");
}

/** The single event of a one-change payload. */
function only(payload: unknown, deliveryId?: string): GitRefEvent {
  const events = normalizeBitbucketPush(payload, deliveryId);
  expect(events).toHaveLength(1);
  return events[0]!;
}

const ZERO = "0".repeat(40);

const CLOUD_REPOSITORY = {
  urls: [
    "https://bitbucket.org/team_name/repo_name.git",
    "git@bitbucket.org:team_name/repo_name.git",
    "https://bitbucket.org/team_name/repo_name",
  ],
  fullName: "team_name/repo_name",
};
const CLOUD_HEAD = {
  id: "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
  message: "new commit message\n",
  timestamp: "2015-06-09T03:34:49+00:00",
  // The docs fill the commit author with an Account; its display name is the name.
  author: { name: "Emma" },
};
const SERVER_REPOSITORY = {
  urls: ["https://bitbucket.example.com/scm/proj/repository.git", "ssh://git@bitbucket.example.com:7999/proj/repository.git"],
  fullName: "PROJ/repository",
};

describe("normalizeBitbucketPush over the documentation's examples", () => {
  it.each([
    [
      "cloud-push-branch.json: a branch push",
      cloudBranch,
      {
        repository: CLOUD_REPOSITORY,
        ref: "refs/heads/name-of-branch",
        refType: "branch",
        refName: "name-of-branch",
        before: "1e65c05c1d5171631d92438a13901ca7dae9618c",
        after: "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
        deleted: false,
        created: false,
        headCommit: CLOUD_HEAD,
        pusher: "emmap1",
      },
    ],
    [
      "cloud-push-tag.json: a tag creation",
      cloudTag,
      {
        repository: CLOUD_REPOSITORY,
        ref: "refs/tags/v1.0.0",
        refType: "tag",
        refName: "v1.0.0",
        after: "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
        deleted: false,
        created: true,
        headCommit: CLOUD_HEAD,
        pusher: "emmap1",
      },
    ],
    [
      "cloud-delete-branch.json: a deleted branch",
      cloudBranchDeleted,
      {
        repository: CLOUD_REPOSITORY,
        ref: "refs/heads/name-of-branch",
        refType: "branch",
        refName: "name-of-branch",
        before: "1e65c05c1d5171631d92438a13901ca7dae9618c",
        after: ZERO,
        deleted: true,
        created: false,
        pusher: "emmap1",
      },
    ],
    [
      "cloud-delete-tag.json: a deleted tag",
      cloudTagDeleted,
      {
        repository: CLOUD_REPOSITORY,
        ref: "refs/tags/v1.0.0",
        refType: "tag",
        refName: "v1.0.0",
        before: "1e65c05c1d5171631d92438a13901ca7dae9618c",
        after: ZERO,
        deleted: true,
        created: false,
        pusher: "emmap1",
      },
    ],
    [
      "server-push-branch.json: a branch push",
      serverBranch,
      {
        repository: SERVER_REPOSITORY,
        ref: "refs/heads/master",
        refType: "branch",
        refName: "master",
        before: "ecddabb624f6f5ba43816f5926e580a5f680a932",
        after: "178864a7d521b6f5e720b386b2c2b0ef8563e0dc",
        deleted: false,
        created: false,
        pusher: "admin",
      },
    ],
    [
      "server-push-tag.json: a tag creation",
      serverTag,
      {
        repository: SERVER_REPOSITORY,
        ref: "refs/tags/v1.0.0",
        refType: "tag",
        refName: "v1.0.0",
        before: ZERO,
        after: "178864a7d521b6f5e720b386b2c2b0ef8563e0dc",
        deleted: false,
        created: true,
        pusher: "admin",
      },
    ],
    [
      "server-delete-branch.json: a deleted branch",
      serverBranchDeleted,
      {
        repository: SERVER_REPOSITORY,
        ref: "refs/heads/master",
        refType: "branch",
        refName: "master",
        before: "ecddabb624f6f5ba43816f5926e580a5f680a932",
        after: ZERO,
        deleted: true,
        created: false,
        pusher: "admin",
      },
    ],
    [
      "server-delete-tag.json: a deleted tag",
      serverTagDeleted,
      {
        repository: SERVER_REPOSITORY,
        ref: "refs/tags/v1.0.0",
        refType: "tag",
        refName: "v1.0.0",
        before: "178864a7d521b6f5e720b386b2c2b0ef8563e0dc",
        after: ZERO,
        deleted: true,
        created: false,
        pusher: "admin",
      },
    ],
  ])("%s", (_what, payload, expected) => {
    const before = structuredClone(payload);
    const e = only(payload, "delivery-1");
    expect(GitRefEvent.safeParse(e).success).toBe(true);
    // Neither Bitbucket flavour lists changed files: changedFiles is absent (unknown).
    expect(e).toEqual({ kind: "git.ref", provider: "bitbucket", deliveryId: "delivery-1", ...expected });
    expect(payload).toEqual(before);
  });

  it("leaves deliveryId out when none is given", () => {
    expect(only(cloudBranch)).not.toHaveProperty("deliveryId");
    expect(only(serverBranch)).not.toHaveProperty("deliveryId");
  });

  it("gives Cloud https and scp-like URLs that normalise to one repository", () => {
    const { urls } = only(cloudBranch).repository;
    expect(new Set(urls.map(normalizeGitUrl))).toEqual(new Set(["bitbucket.org/team_name/repo_name"]));
    for (const uri of ["ssh://git@bitbucket.org/team_name/repo_name.git", "https://user@bitbucket.org/team_name/repo_name.git"]) {
      expect(normalizeGitUrl(uri)).toBe("bitbucket.org/team_name/repo_name");
    }
  });

  it("gives Data Center http and ssh URLs that each match their own forms (the http path has /scm/)", () => {
    const { urls } = only(serverBranch).repository;
    expect(urls.map(normalizeGitUrl)).toEqual(["bitbucket.example.com/scm/proj/repository", "bitbucket.example.com/proj/repository"]);
    // What a BuildConfig may say for this repository: every form matches one of the event's URLs.
    for (const uri of [
      "https://bitbucket.example.com/scm/PROJ/repository.git",
      "http://bitbucket.example.com/scm/proj/repository",
      "ssh://git@bitbucket.example.com:7999/proj/repository.git",
      "git@bitbucket.example.com:proj/repository.git",
    ]) {
      expect(urls.some((u) => sameRepository(u, uri))).toBe(true);
    }
  });

  it.each([
    [
      "the docs' own html link, off bitbucket.org: used as it is",
      derive(cloudBranch, (p) => void (p.repository.links.html.href = "https://api.bitbucket.org/bitbucket/bitbucket")),
      ["https://api.bitbucket.org/bitbucket/bitbucket"],
    ],
    [
      "no links: derived from full_name",
      derive(cloudBranch, (p) => delete p.repository.links),
      CLOUD_REPOSITORY.urls.slice(0, 2),
    ],
    [
      "an html link on BitBucket.org in capitals: derived, link kept",
      derive(cloudBranch, (p) => void (p.repository.links.html.href = "https://BitBucket.org/team_name/repo_name")),
      [...CLOUD_REPOSITORY.urls.slice(0, 2), "https://BitBucket.org/team_name/repo_name"],
    ],
  ])("Cloud repository urls with %s", (_what, payload, urls) => {
    expect(only(payload).repository.urls).toEqual(urls);
  });

  it("puts Data Center http clone links before ssh ones, whatever their order", () => {
    const reversed = derive(serverBranch, (p) => p.repository.links.clone.reverse());
    expect(only(reversed).repository.urls).toEqual(SERVER_REPOSITORY.urls);
  });

  it.each([
    // [what, payload, events (ref, deliveryId, deleted)]
    [
      "Cloud: a branch update and a tag creation",
      derive(cloudBranch, (p) => p.push.changes.push(structuredClone(cloudTag.push.changes[0]))),
      [
        ["refs/heads/name-of-branch", "d-7#0", false],
        ["refs/tags/v1.0.0", "d-7#1", false],
      ],
    ],
    [
      "Data Center: a branch deleted and a tag created",
      derive(serverBranchDeleted, (p) => p.changes.push(structuredClone(serverTag.changes[0]))),
      [
        ["refs/heads/master", "d-7#0", true],
        ["refs/tags/v1.0.0", "d-7#1", false],
      ],
    ],
  ])("one event per change, in order, for %s", (_what, payload, expected) => {
    const events = normalizeBitbucketPush(payload, "d-7");
    expect(events.map((e) => [e.ref, e.deliveryId, e.deleted])).toEqual(expected);
    for (const e of events) expect(GitRefEvent.safeParse(e).success).toBe(true);
  });

  it.each([
    ["Cloud", derive(cloudBranch, (p) => void (p.push.changes = []))],
    ["Data Center", derive(serverBranch, (p) => void (p.changes = []))],
  ])("gives no event for a %s push that changed no ref", (_what, payload) => {
    expect(normalizeBitbucketPush(payload, "d-1")).toEqual([]);
  });

  it.each([
    ["closed: true with new still given", derive(cloudBranch, (p) => void (p.push.changes[0].closed = true)), true],
    ["new: null without closed", derive(cloudBranch, (p) => {
      p.push.changes[0].new = null;
      delete p.push.changes[0].closed;
    }), true],
    ["neither", cloudBranch, false],
  ])("Cloud deleted from %s", (_what, payload, deleted) => {
    expect(only(payload).deleted).toBe(deleted);
  });

  it.each([
    ["type DELETE with a real toHash", derive(serverBranch, (p) => void (p.changes[0].type = "DELETE")), true],
    ["an all-zero toHash with type UPDATE", derive(serverBranch, (p) => void (p.changes[0].toHash = ZERO)), true],
    ["neither", serverBranch, false],
  ])("Data Center deleted from %s", (_what, payload, deleted) => {
    expect(only(payload).deleted).toBe(deleted);
  });

  it.each([
    ["the raw author line", { type: "author", raw: "Emma Smith <emma@example.com>" }, { name: "Emma Smith", email: "emma@example.com" }],
    ["a raw line without email", { type: "author", raw: "Emma Smith" }, { name: "Emma Smith" }],
    ["the linked account", { type: "author", user: { display_name: "Emma" } }, { name: "Emma" }],
  ])("Cloud head commit author from %s", (_what, author, expected) => {
    const payload = derive(cloudBranch, (p) => void (p.push.changes[0].new.target.author = author));
    expect(only(payload).headCommit?.author).toEqual(expected);
  });

  it.each([
    ["nickname", (a: Json) => void (a.nickname = "emma-n"), "emma-n"],
    ["display_name when there is no username", (a: Json) => delete a.username, "Emma"],
  ])("Cloud pusher from %s", (_what, edit, pusher) => {
    expect(only(derive(cloudBranch, (p) => edit(p.actor))).pusher).toBe(pusher);
  });

  it("takes the Data Center head commit from toCommit when it is the pushed commit", () => {
    const toCommit = {
      id: "178864a7d521b6f5e720b386b2c2b0ef8563e0dc",
      displayId: "178864a7d52",
      author: { name: "admin", emailAddress: "admin@example.com" },
      authorTimestamp: 1505778332000,
      committer: { name: "admin", emailAddress: "admin@example.com" },
      committerTimestamp: 1505778332000,
      message: "Update README",
      parents: [{ id: "ecddabb624f6f5ba43816f5926e580a5f680a932", displayId: "ecddabb624f" }],
    };
    expect(only(derive(serverBranch, (p) => void (p.toCommit = toCommit))).headCommit).toEqual({
      id: "178864a7d521b6f5e720b386b2c2b0ef8563e0dc",
      message: "Update README",
      timestamp: "2017-09-18T23:45:32.000Z",
      author: { name: "admin", email: "admin@example.com" },
      committer: { name: "admin", email: "admin@example.com" },
    });
    // Another commit is not the head of this change.
    expect(only(derive(serverBranch, (p) => void (p.toCommit = { ...toCommit, id: "f".repeat(40) }))).headCommit).toBeUndefined();
  });

  it.each([
    // [what, payload, message]
    ["Cloud: missing repository", derive(cloudBranch, (p) => delete p.repository), /^Bitbucket Cloud repo:push payload: repository: /],
    ["Cloud: repository is a string", derive(cloudBranch, (p) => void (p.repository = "team_name/repo_name")), /^Bitbucket Cloud repo:push payload: repository: .*object/],
    ["Cloud: repository without full_name", derive(cloudBranch, (p) => delete p.repository.full_name), /^Bitbucket Cloud repo:push payload: repository\.full_name: /],
    ["Cloud: the html link is a number", derive(cloudBranch, (p) => void (p.repository.links.html.href = 1)), /^Bitbucket Cloud repo:push payload: repository\.links\.html\.href: .*string/],
    ["Cloud: push.changes is missing", derive(cloudBranch, (p) => delete p.push.changes), /^Bitbucket Cloud repo:push payload: push\.changes: /],
    ["Cloud: push.changes is an object", derive(cloudBranch, (p) => void (p.push.changes = {})), /^Bitbucket Cloud repo:push payload: push\.changes: .*array/],
    ["Cloud: a ref that is a bookmark", derive(cloudBranch, (p) => void (p.push.changes[0].new.type = "bookmark")), /^Bitbucket Cloud repo:push payload: push\.changes\.0\.new\.type: .*"branch"\|"tag"/],
    ["Cloud: a named_branch old ref", derive(cloudBranch, (p) => void (p.push.changes[0].old.type = "named_branch")), /^Bitbucket Cloud repo:push payload: push\.changes\.0\.old\.type: /],
    ["Cloud: a ref without a name", derive(cloudBranch, (p) => delete p.push.changes[0].new.name), /^Bitbucket Cloud repo:push payload: push\.changes\.0\.new\.name: /],
    ["Cloud: a target hash that is a number", derive(cloudBranch, (p) => void (p.push.changes[0].new.target.hash = 709)), /^Bitbucket Cloud repo:push payload: push\.changes\.0\.new\.target\.hash: .*string/],
    ["Cloud: closed is a string", derive(cloudBranch, (p) => void (p.push.changes[0].closed = "false")), /^Bitbucket Cloud repo:push payload: push\.changes\.0\.closed: .*boolean/],
    ["Cloud: a change with neither new nor old", derive(cloudBranch, (p) => {
      p.push.changes[0].new = null;
      p.push.changes[0].old = null;
    }), /^Bitbucket Cloud repo:push payload: push\.changes\.0: names no ref/],
    ["Data Center: missing repository", derive(serverBranch, (p) => delete p.repository), /^Bitbucket Data Center repo:refs_changed payload: repository: /],
    ["Data Center: repository without project", derive(serverBranch, (p) => delete p.repository.project), /^Bitbucket Data Center repo:refs_changed payload: repository\.project: /],
    ["Data Center: repository.slug is a number", derive(serverBranch, (p) => void (p.repository.slug = 84)), /^Bitbucket Data Center repo:refs_changed payload: repository\.slug: .*string/],
    ["Data Center: a clone link without href", derive(serverBranch, (p) => delete p.repository.links.clone[1].href), /^Bitbucket Data Center repo:refs_changed payload: repository\.links\.clone\.1\.href: /],
    ["Data Center: the docs' example as found, with no links", derive(serverBranch, (p) => delete p.repository.links), /^Bitbucket Data Center repo:refs_changed payload: repository\.links\.clone: names no clone URL/],
    ["Data Center: another event key", derive(serverBranch, (p) => void (p.eventKey = "pr:merged")), /^Bitbucket Data Center repo:refs_changed payload: eventKey: /],
    ["Data Center: changes is an object", derive(serverBranch, (p) => void (p.changes = p.changes[0])), /^Bitbucket Data Center repo:refs_changed payload: changes: .*array/],
    ["Data Center: a change without ref", derive(serverBranch, (p) => delete p.changes[0].ref), /^Bitbucket Data Center repo:refs_changed payload: changes\.0\.ref: /],
    ["Data Center: a ref of type NOTE", derive(serverBranch, (p) => void (p.changes[0].ref.type = "NOTE")), /^Bitbucket Data Center repo:refs_changed payload: changes\.0\.ref\.type: .*"BRANCH"\|"TAG"/],
    ["Data Center: a change of type MERGE", derive(serverBranch, (p) => void (p.changes[0].type = "MERGE")), /^Bitbucket Data Center repo:refs_changed payload: changes\.0\.type: /],
    ["Data Center: toHash is missing", derive(serverBranch, (p) => delete p.changes[0].toHash), /^Bitbucket Data Center repo:refs_changed payload: changes\.0\.toHash: /],
    ["neither shape", { repository: cloudBranch.repository }, /^Bitbucket push payload: \(root\): expected a Cloud repo:push/],
    ["the body is an array", [cloudBranch], /^Bitbucket push payload: \(root\): /],
    ["the body is null", null, /^Bitbucket push payload: \(root\): /],
  ])("rejects %s", (_what, payload, message) => {
    expect(thrown(() => normalizeBitbucketPush(payload)).message).toMatch(message);
  });

  it.each([
    ["a BRANCH whose id is a pull request ref", "BRANCH", "refs/pull-requests/1/from", 'is not a branch (refs/heads/...) as its type BRANCH says'],
    ["a BRANCH whose id is a tag", "BRANCH", "refs/tags/v1.0.0", 'is not a branch (refs/heads/...) as its type BRANCH says'],
    ["a TAG whose id is a branch", "TAG", "refs/heads/master", 'is not a tag (refs/tags/...) as its type TAG says'],
    ["a short name", "BRANCH", "master", 'is not a branch (refs/heads/...) as its type BRANCH says'],
  ])("rejects a Data Center ref that is neither a branch nor a tag: %s", (_what, type, id, why) => {
    const payload = derive(serverBranch, (p) => void (p.changes[0].ref = { id, displayId: id, type }));
    expect(thrown(() => normalizeBitbucketPush(payload)).message).toBe(
      `Bitbucket Data Center repo:refs_changed payload: changes.0.ref.id: ${JSON.stringify(id)} ${why}`,
    );
  });
});
