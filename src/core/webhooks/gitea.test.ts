/**
 * Unit tests for the Gitea/Forgejo `push`, `create` and `delete`
 * normalisers, over the payload example of Gitea's "Webhooks" documentation
 * and fixtures derived from it (test/fixtures/webhooks/gitea, sources and
 * edits in the README there). Every other case is derived with
 * `structuredClone` plus an edit.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { GitRefEvent } from "../events-in.js";
import { normalizeGitUrl, sameRepository } from "../git-url.js";
import { normalizeGiteaCreate, normalizeGiteaDelete, normalizeGiteaPush } from "./gitea.js";

/** Webhook payloads are edited freely in derived cases. */
type Json = Record<string, any>;

function fixture(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../../../test/fixtures/webhooks/gitea/${name}`, import.meta.url), "utf8")) as Json;
}

const branchPush = fixture("push-branch.json");
const tagPush = fixture("push-tag.json");
const tagDeleted = fixture("push-tag-deleted.json");
const branchDeleted = fixture("delete-branch.json");
const tagCreate = fixture("create-tag.json");

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

const WEBHOOKS = {
  urls: [
    "http://localhost:3000/gitea/webhooks.git",
    "ssh://gitea@localhost:2222/gitea/webhooks.git",
    "http://localhost:3000/gitea/webhooks",
  ],
  fullName: "gitea/webhooks",
  defaultBranch: "main",
};
const YAY = {
  id: "bffeb74224043ba2feb48d137756c8a9331c449a",
  message: "Webhooks Yay!",
  timestamp: "2017-03-13T13:52:11-04:00",
  author: { name: "Gitea", email: "someone@gitea.io" },
  committer: { name: "Gitea", email: "someone@gitea.io" },
};

describe("the Gitea normalisers over the documentation's example and its derivations", () => {
  it.each([
    [
      "push-branch.json: a branch push",
      normalizeGiteaPush,
      branchPush,
      {
        repository: WEBHOOKS,
        ref: "refs/heads/develop",
        refType: "branch",
        refName: "develop",
        before: "28e1879d029cb852e4844d9c718537df08844e03",
        after: "bffeb74224043ba2feb48d137756c8a9331c449a",
        deleted: false,
        created: false,
        headCommit: YAY,
        // The docs' commit lists no files: unknown.
        pusher: "gitea",
      },
    ],
    [
      "push-tag.json: a tag creation",
      normalizeGiteaPush,
      tagPush,
      {
        repository: WEBHOOKS,
        ref: "refs/tags/v1.0.0",
        refType: "tag",
        refName: "v1.0.0",
        before: ZERO,
        after: "bffeb74224043ba2feb48d137756c8a9331c449a",
        deleted: false,
        created: true,
        headCommit: YAY,
        pusher: "gitea",
      },
    ],
    [
      "push-tag-deleted.json: a deleted tag",
      normalizeGiteaPush,
      tagDeleted,
      {
        repository: WEBHOOKS,
        ref: "refs/tags/v1.0.0",
        refType: "tag",
        refName: "v1.0.0",
        before: "bffeb74224043ba2feb48d137756c8a9331c449a",
        after: ZERO,
        deleted: true,
        created: false,
        pusher: "gitea",
      },
    ],
    [
      "delete-branch.json: a deleted branch",
      normalizeGiteaDelete,
      branchDeleted,
      {
        repository: WEBHOOKS,
        ref: "refs/heads/develop",
        refType: "branch",
        refName: "develop",
        after: ZERO,
        deleted: true,
        created: false,
        pusher: "gitea",
      },
    ],
    [
      "create-tag.json: a tag creation",
      normalizeGiteaCreate,
      tagCreate,
      {
        repository: WEBHOOKS,
        ref: "refs/tags/v1.0.0",
        refType: "tag",
        refName: "v1.0.0",
        after: "bffeb74224043ba2feb48d137756c8a9331c449a",
        deleted: false,
        created: true,
        pusher: "gitea",
      },
    ],
  ] as const)("%s", (_what, normalize, payload, expected) => {
    const before = structuredClone(payload);
    const e = normalize(payload, "delivery-1");
    expect(GitRefEvent.safeParse(e).success).toBe(true);
    expect(e).toEqual({ kind: "git.ref", provider: "gitea", deliveryId: "delivery-1", ...expected });
    expect(payload).toEqual(before);
  });

  it("leaves deliveryId out when none is given", () => {
    expect(normalizeGiteaPush(branchPush)).not.toHaveProperty("deliveryId");
    expect(normalizeGiteaCreate(tagCreate)).not.toHaveProperty("deliveryId");
    expect(normalizeGiteaDelete(branchDeleted)).not.toHaveProperty("deliveryId");
  });

  it("gives http, ssh:// and web URLs that each match every form a BuildConfig may use", () => {
    const { urls } = normalizeGiteaPush(branchPush).repository;
    // The http port is kept and the ssh port dropped, so the forms fall into two keys.
    expect(urls.map(normalizeGitUrl)).toEqual(["localhost:3000/gitea/webhooks", "localhost/gitea/webhooks", "localhost:3000/gitea/webhooks"]);
    for (const uri of [
      "http://localhost:3000/gitea/webhooks.git",
      "ssh://gitea@localhost:2222/gitea/webhooks.git",
      "gitea@localhost:gitea/webhooks.git",
    ]) {
      expect(urls.some((u) => sameRepository(u, uri))).toBe(true);
    }
  });

  it("gives https, ssh and scp-like URLs of a default-port Gitea that normalise to one repository", () => {
    const onDefaultPorts = derive(branchPush, (p) => {
      p.repository.clone_url = "https://gitea.example.com/gitea/webhooks.git";
      p.repository.ssh_url = "git@gitea.example.com:gitea/webhooks.git";
      p.repository.html_url = "https://gitea.example.com/gitea/webhooks";
    });
    const { urls } = normalizeGiteaPush(onDefaultPorts).repository;
    expect(new Set([...urls, "ssh://git@gitea.example.com/gitea/webhooks.git"].map(normalizeGitUrl))).toEqual(
      new Set(["gitea.example.com/gitea/webhooks"]),
    );
  });

  it.each([
    ["the docs' example: no file lists, unknown", branchPush, undefined],
    [
      "added, modified and removed over several commits, deduplicated and sorted",
      derive(branchPush, (p) => {
        const c0 = p.commits[0];
        p.total_commits = 3;
        p.commits = [
          { ...c0, id: "a".repeat(40), added: ["src/b.ts", "src/a.ts"], removed: [], modified: [] },
          { ...c0, id: "b".repeat(40), added: [], removed: ["old.txt"], modified: ["src/a.ts", "Dockerfile"] },
          { ...c0, id: p.after, added: ["docs/x.md"], removed: null, modified: ["Dockerfile"] },
        ];
      }),
      ["Dockerfile", "docs/x.md", "old.txt", "src/a.ts", "src/b.ts"],
    ],
    [
      "more commits pushed than listed (total_commits): unknown",
      derive(branchPush, (p) => {
        p.commits[0].added = ["README.md"];
        p.total_commits = 6;
      }),
      undefined,
    ],
    [
      "every commit listed, no total_commits: the union",
      derive(branchPush, (p) => void (p.commits[0].modified = ["README.md"])),
      ["README.md"],
    ],
    [
      "commits: null, as Go encodes an empty list",
      derive(branchPush, (p) => void (p.commits = null)),
      undefined,
    ],
    ["a tag (no commits): unknown", tagPush, undefined],
  ])("changedFiles for %s", (_what, payload, expected) => {
    expect(normalizeGiteaPush(payload).changedFiles).toEqual(expected);
  });

  it.each([
    ["head_commit, when given", derive(branchPush, (p) => void (p.head_commit = { ...p.commits[0], message: "from head_commit" })), "from head_commit"],
    ["the listed commit whose id is after", branchPush, "Webhooks Yay!"],
    ["none when no commit is after", derive(branchPush, (p) => void (p.after = "c".repeat(40))), undefined],
  ])("headCommit from %s", (_what, payload, message) => {
    expect(normalizeGiteaPush(payload).headCommit?.message).toBe(message);
  });

  it.each([
    ["an all-zero after on a branch (not sent by Gitea, still understood)", derive(branchPush, (p) => void (p.after = ZERO)), true],
    ["a 64-zero after (SHA-256 repository)", derive(tagDeleted, (p) => void (p.after = "0".repeat(64))), true],
    ["a real after", branchPush, false],
  ])("deleted from %s", (_what, payload, deleted) => {
    expect(normalizeGiteaPush(payload).deleted).toBe(deleted);
  });

  it.each([
    ["login", branchPush, "gitea"],
    ["username when there is no login", derive(branchPush, (p) => delete p.pusher.login), "gitea"],
    ["none", derive(branchPush, (p) => delete p.pusher), undefined],
  ])("pusher from %s", (_what, payload, pusher) => {
    expect(normalizeGiteaPush(payload).pusher).toBe(pusher);
  });

  it.each([
    ["a branch by its short name", (c: Json) => {
      c.ref_type = "branch";
      c.ref = "feature/x";
    }, { ref: "refs/heads/feature/x", refType: "branch", refName: "feature/x" }],
    ["a tag by its full name", (c: Json) => void (c.ref = "refs/tags/v2.0.0"), { ref: "refs/tags/v2.0.0", refType: "tag", refName: "v2.0.0" }],
  ])("maps the creation of %s to its full ref", (_what, edit, expected) => {
    expect(normalizeGiteaCreate(derive(tagCreate, edit))).toMatchObject(expected);
  });

  it("maps the deletion of a tag to its full ref", () => {
    const e = normalizeGiteaDelete(derive(branchDeleted, (d) => Object.assign(d, { ref: "v1.0.0", ref_type: "tag" })));
    expect(e).toMatchObject({ ref: "refs/tags/v1.0.0", refType: "tag", refName: "v1.0.0", deleted: true });
  });

  it.each([
    // [what, normaliser, payload, message]
    ["push: missing repository", normalizeGiteaPush, derive(branchPush, (p) => delete p.repository), /^Gitea push payload: repository: /],
    ["push: repository is a string", normalizeGiteaPush, derive(branchPush, (p) => void (p.repository = "gitea/webhooks")), /^Gitea push payload: repository: .*object/],
    ["push: repository without full_name", normalizeGiteaPush, derive(branchPush, (p) => delete p.repository.full_name), /^Gitea push payload: repository\.full_name: /],
    ["push: repository.clone_url is a number", normalizeGiteaPush, derive(branchPush, (p) => void (p.repository.clone_url = 140)), /^Gitea push payload: repository\.clone_url: .*string/],
    [
      "push: a repository without any URL",
      normalizeGiteaPush,
      derive(branchPush, (p) => {
        delete p.repository.clone_url;
        delete p.repository.ssh_url;
        delete p.repository.html_url;
      }),
      /^Gitea push payload: repository: names no repository URL/,
    ],
    ["push: ref is missing", normalizeGiteaPush, derive(branchPush, (p) => delete p.ref), /^Gitea push payload: ref: /],
    ["push: ref is a number", normalizeGiteaPush, derive(branchPush, (p) => void (p.ref = 7)), /^Gitea push payload: ref: .*string/],
    ["push: after is missing", normalizeGiteaPush, derive(branchPush, (p) => delete p.after), /^Gitea push payload: after: /],
    ["push: commits is an object", normalizeGiteaPush, derive(branchPush, (p) => void (p.commits = p.commits[0])), /^Gitea push payload: commits: .*array/],
    ["push: a commit without id", normalizeGiteaPush, derive(branchPush, (p) => delete p.commits[0].id), /^Gitea push payload: commits\.0\.id: /],
    ["push: a commit's modified is a string", normalizeGiteaPush, derive(branchPush, (p) => void (p.commits[0].modified = "README.md")), /^Gitea push payload: commits\.0\.modified: .*array/],
    ["push: total_commits is negative", normalizeGiteaPush, derive(branchPush, (p) => void (p.total_commits = -1)), /^Gitea push payload: total_commits: /],
    ["push: pusher is a string", normalizeGiteaPush, derive(branchPush, (p) => void (p.pusher = "gitea")), /^Gitea push payload: pusher: .*object/],
    ["push: the body is an array", normalizeGiteaPush, [branchPush], /^Gitea push payload: \(root\): /],
    ["push: the body is null", normalizeGiteaPush, null, /^Gitea push payload: \(root\): /],
    ["create: missing repository", normalizeGiteaCreate, derive(tagCreate, (c) => delete c.repository), /^Gitea create payload: repository: /],
    ["create: ref_type is pull", normalizeGiteaCreate, derive(tagCreate, (c) => void (c.ref_type = "pull")), /^Gitea create payload: ref_type: .*"branch"\|"tag"/],
    ["create: sha is missing", normalizeGiteaCreate, derive(tagCreate, (c) => delete c.sha), /^Gitea create payload: sha: /],
    ["create: ref is empty", normalizeGiteaCreate, derive(tagCreate, (c) => void (c.ref = "")), /^Gitea create payload: ref: /],
    ["create: a tag named by a branch's full ref", normalizeGiteaCreate, derive(tagCreate, (c) => void (c.ref = "refs/heads/main")), /^Gitea create payload: ref: "refs\/heads\/main" is not a tag name/],
    ["delete: missing repository", normalizeGiteaDelete, derive(branchDeleted, (d) => delete d.repository), /^Gitea delete payload: repository: /],
    ["delete: ref_type is missing", normalizeGiteaDelete, derive(branchDeleted, (d) => delete d.ref_type), /^Gitea delete payload: ref_type: /],
    ["delete: ref is a number", normalizeGiteaDelete, derive(branchDeleted, (d) => void (d.ref = 1)), /^Gitea delete payload: ref: .*string/],
  ] as const)("rejects %s", (_what, normalize, payload, message) => {
    expect(thrown(() => normalize(payload)).message).toMatch(message);
  });

  it.each([
    ["a pull request ref", "refs/pull/1/head"],
    ["a short branch name", "develop"],
    ["a namespace that only starts like refs/tags", "refs/tagsx/v1"],
    ["a bare refs/heads/", "refs/heads/"],
    ["an empty ref", ""],
  ])("rejects a push whose ref is neither a branch nor a tag: %s", (_what, ref) => {
    const e = thrown(() => normalizeGiteaPush(derive(branchPush, (p) => void (p.ref = ref))));
    expect(e.message).toBe(`Gitea push payload: ref: ${JSON.stringify(ref)} is neither a branch (refs/heads/...) nor a tag (refs/tags/...)`);
  });
});
