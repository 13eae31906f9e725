/**
 * Unit tests for the GitLab push normaliser, over the payload examples of
 * GitLab's "Webhook events" documentation (test/fixtures/webhooks/gitlab,
 * sources in the README there). Every other case is derived from them with
 * `structuredClone` plus an edit.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { GitRefEvent } from "../events-in.js";
import { normalizeGitUrl } from "../git-url.js";
import { gitlabEventKind, normalizeGitLabPush } from "./gitlab.js";

/** Webhook payloads are edited freely in derived cases. */
type Json = Record<string, any>;

function fixture(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../../../test/fixtures/webhooks/gitlab/${name}`, import.meta.url), "utf8")) as Json;
}

const branchPush = fixture("push-branch.json");
const tagPush = fixture("tag-push.json");
const branchDeleted = fixture("push-branch-deleted.json");
const tagDeleted = fixture("tag-push-deleted.json");

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

const ZERO = "0".repeat(40);

const DIASPORA = {
  urls: ["http://example.com/mike/diaspora.git", "git@example.com:mike/diaspora.git", "http://example.com/mike/diaspora"],
  fullName: "mike/diaspora",
  defaultBranch: "master",
};
const EXAMPLE = {
  urls: [
    "http://example.com/jsmith/example.git",
    "git@example.com:jsmith/example.git",
    "http://example.com/jsmith/example",
    "ssh://git@example.com/jsmith/example.git",
  ],
  fullName: "jsmith/example",
  defaultBranch: "master",
};

describe("normalizeGitLabPush over the documentation's examples", () => {
  it.each([
    [
      "push-branch.json: a branch push",
      branchPush,
      {
        repository: DIASPORA,
        ref: "refs/heads/master",
        refType: "branch",
        refName: "master",
        before: "95790bf891e76fee5e1747ab589903a6a1f80f22",
        after: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        deleted: false,
        created: false,
        headCommit: {
          id: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
          message: "fixed readme",
          timestamp: "2012-01-03T23:36:29+02:00",
          author: { name: "GitLab dev user", email: "gitlabdev@dv6700.(none)" },
        },
        // 2 of 4 commits listed (total_commits_count): the changed files are not all known.
        pusher: "jsmith",
      },
    ],
    [
      "tag-push.json: a tag creation",
      tagPush,
      {
        repository: EXAMPLE,
        ref: "refs/tags/v1.0.0",
        refType: "tag",
        refName: "v1.0.0",
        before: ZERO,
        after: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
        deleted: false,
        created: true,
        // No user_username in the docs' tag example: the display name stands in.
        pusher: "John Smith",
      },
    ],
    [
      "push-branch-deleted.json: a deleted branch",
      branchDeleted,
      {
        repository: DIASPORA,
        ref: "refs/heads/master",
        refType: "branch",
        refName: "master",
        before: "95790bf891e76fee5e1747ab589903a6a1f80f22",
        after: ZERO,
        deleted: true,
        created: false,
        pusher: "jsmith",
      },
    ],
    [
      "tag-push-deleted.json: a deleted tag",
      tagDeleted,
      {
        repository: EXAMPLE,
        ref: "refs/tags/v1.0.0",
        refType: "tag",
        refName: "v1.0.0",
        before: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
        after: ZERO,
        deleted: true,
        created: false,
        pusher: "John Smith",
      },
    ],
  ])("%s", (_what, payload, expected) => {
    const before = structuredClone(payload);
    const e = normalizeGitLabPush(payload, "delivery-1");
    expect(GitRefEvent.safeParse(e).success).toBe(true);
    expect(e).toEqual({ kind: "git.ref", provider: "gitlab", deliveryId: "delivery-1", ...expected });
    // The payload is read, never changed.
    expect(payload).toEqual(before);
  });

  it("leaves deliveryId out when none is given", () => {
    expect(normalizeGitLabPush(branchPush)).not.toHaveProperty("deliveryId");
  });

  it.each([
    ["push-branch.json", branchPush, "example.com/mike/diaspora"],
    ["tag-push.json", tagPush, "example.com/jsmith/example"],
  ])("gives http(s), scp-like and ssh:// URLs of %s that normalise to one repository", (_name, payload, key) => {
    const { urls } = normalizeGitLabPush(payload).repository;
    expect(urls.some((u) => u.startsWith("http://"))).toBe(true);
    expect(urls.some((u) => /^git@[^:/]+:/.test(u))).toBe(true);
    expect(new Set(urls.map(normalizeGitUrl))).toEqual(new Set([key]));
    // The forms a BuildConfig may use for the same repository.
    const path = key.slice("example.com/".length);
    for (const uri of [`https://example.com/${path}.git`, `git@example.com:${path}.git`, `ssh://git@example.com:22/${path}`]) {
      expect(normalizeGitUrl(uri)).toBe(key);
    }
  });
  it("the tag example's deprecated repository.url is the ssh:// form", () => {
    expect(normalizeGitLabPush(tagPush).repository.urls).toContain("ssh://git@example.com/jsmith/example.git");
  });

  it.each([
    ["the docs' example: 2 commits listed of 4 pushed: unknown", branchPush, undefined],
    [
      "every commit listed (total_commits_count 2): the union, sorted",
      derive(branchPush, (p) => void (p.total_commits_count = 2)),
      ["CHANGELOG", "app/controller/application.rb"],
    ],
    [
      "no total_commits_count: the union of what is listed",
      derive(branchPush, (p) => delete p.total_commits_count),
      ["CHANGELOG", "app/controller/application.rb"],
    ],
    [
      "added, modified and removed over several commits, deduplicated and sorted",
      derive(branchPush, (p) => {
        p.total_commits_count = 3;
        const c0 = p.commits[0];
        p.commits = [
          { ...c0, id: "a".repeat(40), added: ["src/b.ts", "src/a.ts"], modified: [], removed: [] },
          { ...c0, id: "b".repeat(40), added: [], modified: ["src/a.ts", "Dockerfile"], removed: ["old.txt"] },
          { ...c0, id: "c".repeat(40), added: ["docs/x.md"], modified: ["Dockerfile"], removed: [] },
        ];
      }),
      ["Dockerfile", "docs/x.md", "old.txt", "src/a.ts", "src/b.ts"],
    ],
    [
      "a commit without any file list: unknown",
      derive(branchPush, (p) => {
        p.total_commits_count = 2;
        delete p.commits[1].added;
        delete p.commits[1].modified;
        delete p.commits[1].removed;
      }),
      undefined,
    ],
    ["no commits (a tag, or a new branch with no new commit): unknown", tagPush, undefined],
    ["a deleted branch: unknown", branchDeleted, undefined],
  ])("changedFiles for %s", (_what, payload, expected) => {
    expect(normalizeGitLabPush(payload).changedFiles).toEqual(expected);
  });

  it.each([
    ["an all-zero after and checkout_sha null", branchDeleted, true],
    ["an all-zero after, no checkout_sha", derive(branchDeleted, (p) => delete p.checkout_sha), true],
    ["checkout_sha null alone", derive(branchPush, (p) => void (p.checkout_sha = null)), true],
    ["a real after and checkout_sha", branchPush, false],
    ["a real after, no checkout_sha", derive(branchPush, (p) => delete p.checkout_sha), false],
  ])("deleted from %s", (_what, payload, deleted) => {
    expect(normalizeGitLabPush(payload).deleted).toBe(deleted);
  });

  it("takes the commit from checkout_sha when after is an annotated tag object", () => {
    const annotated = derive(tagPush, (p) => void (p.after = "f".repeat(40)));
    expect(normalizeGitLabPush(annotated).after).toBe("82b3d5ae55f7080f1e6022629cdb57bfae7cccc7");
    expect(normalizeGitLabPush(derive(annotated, (p) => delete p.checkout_sha)).after).toBe("f".repeat(40));
  });

  it.each([
    ["a new branch (all-zero before)", derive(branchPush, (p) => void (p.before = ZERO)), true],
    ["no before", derive(branchPush, (p) => delete p.before), false],
  ])("created for %s", (_what, payload, created) => {
    expect(normalizeGitLabPush(payload).created).toBe(created);
  });

  it.each([
    ["user_username", branchPush, "jsmith"],
    ["user_name when user_username is absent", tagPush, "John Smith"],
    ["none", derive(tagPush, (p) => delete p.user_name), undefined],
  ])("pusher from %s", (_what, payload, pusher) => {
    expect(normalizeGitLabPush(payload).pusher).toBe(pusher);
  });

  it.each([
    [
      "only project.git_ssh_url",
      derive(branchPush, (p) => {
        p.project = { path_with_namespace: "mike/diaspora", git_ssh_url: "git@example.com:mike/diaspora.git" };
        delete p.repository;
      }),
      ["git@example.com:mike/diaspora.git"],
    ],
    [
      "no deprecated fields",
      derive(branchPush, (p) => {
        for (const k of ["http_url", "ssh_url", "url", "homepage"]) delete p.project[k];
        delete p.repository;
      }),
      DIASPORA.urls,
    ],
  ])("repository urls with %s", (_what, payload, urls) => {
    expect(normalizeGitLabPush(payload).repository.urls).toEqual(urls);
  });

  it.each([
    // [what, payload, message]
    ["missing project", derive(branchPush, (p) => delete p.project), /^GitLab push payload: project: /],
    ["project is a string", derive(branchPush, (p) => void (p.project = "mike/diaspora")), /^GitLab push payload: project: .*object/],
    ["project without path_with_namespace", derive(branchPush, (p) => delete p.project.path_with_namespace), /^GitLab push payload: project\.path_with_namespace: /],
    ["project.git_http_url is a number", derive(branchPush, (p) => void (p.project.git_http_url = 15)), /^GitLab push payload: project\.git_http_url: .*string/],
    [
      "a project and repository without any URL",
      derive(branchPush, (p) => {
        p.project = { path_with_namespace: "mike/diaspora" };
        delete p.repository;
      }),
      /^GitLab push payload: project: names no repository URL/,
    ],
    ["repository is an array", derive(branchPush, (p) => void (p.repository = [])), /^GitLab push payload: repository: .*object/],
    ["object_kind is merge_request", derive(branchPush, (p) => void (p.object_kind = "merge_request")), /^GitLab push payload: object_kind: /],
    ["ref is missing", derive(branchPush, (p) => delete p.ref), /^GitLab push payload: ref: /],
    ["ref is a number", derive(branchPush, (p) => void (p.ref = 7)), /^GitLab push payload: ref: .*string/],
    ["after is missing", derive(branchPush, (p) => delete p.after), /^GitLab push payload: after: /],
    ["checkout_sha is a number", derive(branchPush, (p) => void (p.checkout_sha = 1)), /^GitLab push payload: checkout_sha: .*string/],
    ["commits is an object", derive(branchPush, (p) => void (p.commits = { 0: p.commits[0] })), /^GitLab push payload: commits: .*array/],
    ["a commit without id", derive(branchPush, (p) => delete p.commits[1].id), /^GitLab push payload: commits\.1\.id: /],
    ["a commit's added is a string", derive(branchPush, (p) => void (p.commits[0].added = "CHANGELOG")), /^GitLab push payload: commits\.0\.added: .*array/],
    ["a commit's removed holds a number", derive(branchPush, (p) => void (p.commits[0].removed = [1])), /^GitLab push payload: commits\.0\.removed\.0: .*string/],
    ["total_commits_count is a string", derive(branchPush, (p) => void (p.total_commits_count = "4")), /^GitLab push payload: total_commits_count: .*number/],
    ["the body is an array", [branchPush], /^GitLab push payload: \(root\): /],
    ["the body is null", null, /^GitLab push payload: \(root\): /],
  ])("rejects a payload with %s", (_what, payload, message) => {
    expect(thrown(() => normalizeGitLabPush(payload)).message).toMatch(message);
  });

  it.each([
    ["a merge request ref", "refs/merge-requests/1/head"],
    ["a short branch name", "master"],
    ["a namespace that only starts like refs/heads", "refs/headsx/main"],
    ["a bare refs/tags/", "refs/tags/"],
    ["an empty ref", ""],
  ])("rejects a ref that is neither a branch nor a tag: %s", (_what, ref) => {
    const e = thrown(() => normalizeGitLabPush(derive(branchPush, (p) => void (p.ref = ref))));
    expect(e.code).toBe("ValidationError");
    expect(e.message).toBe(
      `GitLab push payload: ref: ${JSON.stringify(ref)} is neither a branch (refs/heads/...) nor a tag (refs/tags/...)`,
    );
  });
});

describe("gitlabEventKind", () => {
  it.each([
    ["Push Hook", "push"],
    ["Tag Push Hook", "tag_push"],
    [" tag push hook ", "tag_push"],
    ["PUSH HOOK", "push"],
    ["Merge Request Hook", undefined],
    ["System Hook", undefined],
    ["Pipeline Hook", undefined],
    ["", undefined],
    [undefined, undefined],
    [null, undefined],
  ])("%j is %j", (header, kind) => {
    expect(gitlabEventKind(header)).toBe(kind);
  });

  it("agrees with the object_kind of the documentation's examples", () => {
    expect(gitlabEventKind("Push Hook")).toBe(branchPush.object_kind);
    expect(gitlabEventKind("Tag Push Hook")).toBe(tagPush.object_kind);
  });
});
