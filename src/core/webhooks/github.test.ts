/**
 * Unit tests for the GitHub `push` and `create` normalisers, over every real
 * payload that `@octokit/webhooks-examples` ships for those events. Invalid
 * cases are derived from the real payloads with `structuredClone` plus one
 * edit, in the style of aws-powertools' parser tests.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { GitRefEvent } from "../events-in.js";
import { normalizeGitHubCreate, normalizeGitHubPush } from "./github.js";

/** Webhook payloads are edited freely in derived cases. */
type Json = Record<string, any>;

const definitions = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: Json[] }[];

function examplesOf(name: string): Json[] {
  const def = definitions.find((d) => d.name === name);
  if (!def || def.examples.length === 0) throw new Error(`@octokit/webhooks-examples has no "${name}" examples`);
  return def.examples;
}

const pushes = examplesOf("push");
const creates = examplesOf("create");

/** A deep copy of a real payload with one edit applied: the payloads themselves are never touched. */
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

/** The real payloads used as bases for derived cases, picked by what they are. */
const branchPush = pushes.find((p) => p.ref === "refs/heads/master" && p.commits?.length > 0)!;
const tagCreatedPush = pushes.find((p) => p.ref.startsWith("refs/tags/") && p.created === true)!;
const tagDeletedPush = pushes.find((p) => p.ref.startsWith("refs/tags/") && p.deleted === true)!;
const tagCreate = creates.find((c) => c.ref_type === "tag")!;

const HELLO_WORLD_URLS = [
  "https://github.com/Codertocat/Hello-World.git",
  "git@github.com:Codertocat/Hello-World.git",
  "git://github.com/Codertocat/Hello-World.git",
  "https://github.com/Codertocat/Hello-World",
];

describe("the @octokit/webhooks-examples payloads", () => {
  it("include branch pushes, tag pushes and tag deletions, and tag creations", () => {
    expect(pushes.length).toBeGreaterThanOrEqual(3);
    expect(creates.length).toBeGreaterThanOrEqual(1);
    expect(branchPush).toBeDefined();
    expect(tagCreatedPush).toBeDefined();
    expect(tagDeletedPush).toBeDefined();
    expect(tagCreate).toBeDefined();
  });
});

describe("normalizeGitHubPush over every real push example", () => {
  it.each(pushes.map((p, i) => [i, p.ref as string, p] as const))("example %i (%s)", (_i, ref, payload) => {
    const before = structuredClone(payload);
    const e = normalizeGitHubPush(payload, "delivery-1");

    // The result satisfies the normalised event schema.
    expect(GitRefEvent.safeParse(e).success).toBe(true);
    expect(e.kind).toBe("git.ref");
    expect(e.provider).toBe("github");
    expect(e.deliveryId).toBe("delivery-1");

    expect(e.ref).toBe(ref);
    const [, kind, name] = /^refs\/(heads|tags)\/(.+)$/.exec(ref)!;
    expect(e.refType).toBe(kind === "heads" ? "branch" : "tag");
    expect(e.refName).toBe(name);

    expect(e.deleted).toBe(payload.deleted);
    expect(e.created).toBe(payload.created);
    expect(e.after).toBe(payload.after);
    expect(e.before).toBe(payload.before);
    if (e.deleted) expect(e.after).toMatch(/^0{40}$/);

    expect(e.repository.urls).toEqual([
      payload.repository.clone_url,
      payload.repository.ssh_url,
      payload.repository.git_url,
      payload.repository.html_url,
    ]);
    expect(e.repository.urls).toEqual(HELLO_WORLD_URLS);
    expect(e.repository.fullName).toBe(payload.repository.full_name);
    expect(e.repository.defaultBranch).toBe(payload.repository.default_branch);
    expect(e.pusher).toBe(payload.pusher.name);

    const head = payload.head_commit;
    if (head) {
      expect(e.headCommit).toEqual({
        id: head.id,
        message: head.message,
        timestamp: head.timestamp,
        author: { name: head.author.name, email: head.author.email },
        committer: { name: head.committer.name, email: head.committer.email },
      });
    } else {
      expect(e.headCommit).toBeUndefined();
    }

    // The payload is read, never changed.
    expect(payload).toEqual(before);
  });

  it.each([
    // [what, payload, changedFiles]
    ["a branch push: the union over its commit", branchPush, ["README.md"]],
    // A tag push lists no commits; the head commit's files stand in for them.
    ["a tag push with no commits: the head commit's files", tagCreatedPush, [".gitignore"]],
    ["a deleted tag: unknown (no commits, no head commit)", tagDeletedPush, undefined],
    [
      "several commits: added, modified and removed, deduplicated and sorted",
      derive(branchPush, (p) => {
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
      "commits whose file lists are absent: an empty (known) list",
      derive(branchPush, (p) => {
        delete p.commits[0].added;
        delete p.commits[0].modified;
        delete p.commits[0].removed;
      }),
      [],
    ],
    [
      "commits listed: the head commit's files are not added on top",
      derive(branchPush, (p) => {
        p.head_commit.added = ["only-in-head.txt"];
      }),
      ["README.md"],
    ],
    [
      "commits: null and no head commit: unknown",
      derive(branchPush, (p) => {
        p.commits = null;
        p.head_commit = null;
      }),
      undefined,
    ],
  ])("changedFiles for %s", (_what, payload, expected) => {
    expect(normalizeGitHubPush(payload).changedFiles).toEqual(expected);
  });

  it.each([
    ["deleted: true", derive(branchPush, (p) => void (p.deleted = true)), true],
    ["an all-zero after without deleted", derive(branchPush, (p) => {
      p.after = "0".repeat(40);
      delete p.deleted;
    }), true],
    ["a real after", branchPush, false],
  ])("deleted from %s", (_what, payload, deleted) => {
    expect(normalizeGitHubPush(payload).deleted).toBe(deleted);
  });

  it.each([
    ["no default_branch: the legacy master_branch", (p: Json) => {
      delete p.repository.default_branch;
      p.repository.master_branch = "legacy";
    }, "legacy"],
    ["neither: none", (p: Json) => {
      delete p.repository.default_branch;
      delete p.repository.master_branch;
    }, undefined],
    ["a renamed default branch", (p: Json) => void (p.repository.default_branch = "main"), "main"],
  ])("defaultBranch with %s", (_what, edit, expected) => {
    expect(normalizeGitHubPush(derive(branchPush, edit)).repository.defaultBranch).toBe(expected);
  });

  it.each([
    ["only ssh_url", ["ssh_url"], ["git@github.com:Codertocat/Hello-World.git"]],
    ["clone_url and html_url", ["clone_url", "html_url"], [HELLO_WORLD_URLS[0], HELLO_WORLD_URLS[3]]],
    ["none: the repository url", [], ["https://github.com/Codertocat/Hello-World"]],
  ])("repository urls with %s", (_what, keep, expected) => {
    const payload = derive(branchPush, (p) => {
      for (const k of ["clone_url", "ssh_url", "git_url", "html_url"]) if (!keep.includes(k)) delete p.repository[k];
    });
    expect(normalizeGitHubPush(payload).repository.urls).toEqual(expected);
  });

  it("leaves deliveryId out when none is given", () => {
    expect(normalizeGitHubPush(branchPush)).not.toHaveProperty("deliveryId");
  });

  it.each([
    // [what, payload, message]
    ["missing repository", derive(branchPush, (p) => delete p.repository), /^GitHub push payload: repository: /],
    ["repository is a string", derive(branchPush, (p) => void (p.repository = "Codertocat/Hello-World")), /^GitHub push payload: repository: .*object/],
    ["repository without full_name", derive(branchPush, (p) => delete p.repository.full_name), /^GitHub push payload: repository\.full_name: /],
    ["repository.clone_url is a number", derive(branchPush, (p) => void (p.repository.clone_url = 42)), /^GitHub push payload: repository\.clone_url: .*string/],
    ["ref is missing", derive(branchPush, (p) => delete p.ref), /^GitHub push payload: ref: /],
    ["ref is a number", derive(branchPush, (p) => void (p.ref = 7)), /^GitHub push payload: ref: .*string/],
    ["after is missing", derive(branchPush, (p) => delete p.after), /^GitHub push payload: after: /],
    ["deleted is a string", derive(branchPush, (p) => void (p.deleted = "true")), /^GitHub push payload: deleted: .*boolean/],
    ["created is a number", derive(branchPush, (p) => void (p.created = 1)), /^GitHub push payload: created: .*boolean/],
    ["commits is an object", derive(branchPush, (p) => void (p.commits = { 0: p.commits[0] })), /^GitHub push payload: commits: .*array/],
    ["a commit without id", derive(branchPush, (p) => delete p.commits[0].id), /^GitHub push payload: commits\.0\.id: /],
    ["a commit's added is a string", derive(branchPush, (p) => void (p.commits[0].added = "README.md")), /^GitHub push payload: commits\.0\.added: .*array/],
    ["a commit's modified holds a number", derive(branchPush, (p) => void (p.commits[0].modified = [1])), /^GitHub push payload: commits\.0\.modified\.0: .*string/],
    ["head_commit.id is a number", derive(branchPush, (p) => void (p.head_commit.id = 6113728)), /^GitHub push payload: head_commit\.id: .*string/],
    ["head_commit.author is a string", derive(branchPush, (p) => void (p.head_commit.author = "Codertocat")), /^GitHub push payload: head_commit\.author: .*object/],
    ["the body is an array", [branchPush], /^GitHub push payload: \(root\): /],
    ["the body is null", null, /^GitHub push payload: \(root\): /],
  ])("rejects a push with %s", (_what, payload, message) => {
    expect(thrown(() => normalizeGitHubPush(payload)).message).toMatch(message);
  });

  it.each([
    ["a pull request ref", "refs/pull/1/merge"],
    ["a short branch name", "master"],
    ["a notes ref", "refs/notes/commits"],
    ["a namespace that only starts like refs/heads", "refs/headsx/main"],
    ["an empty ref", ""],
  ])("rejects a push whose ref is neither a branch nor a tag: %s", (_what, ref) => {
    const e = thrown(() => normalizeGitHubPush(derive(branchPush, (p) => void (p.ref = ref))));
    expect(e.code).toBe("ValidationError");
    expect(e.message).toBe(`GitHub push payload: ref: ${JSON.stringify(ref)} is neither a branch (refs/heads/...) nor a tag (refs/tags/...)`);
    expect(e.message).toMatch(/neither a branch \(refs\/heads\/\.\.\.\) nor a tag \(refs\/tags\/\.\.\.\)/);
  });
});

describe("normalizeGitHubCreate over every real create example", () => {
  it.each(creates.map((c, i) => [i, `${c.ref_type} ${c.ref}`, c] as const))("example %i (%s)", (_i, _label, payload) => {
    const before = structuredClone(payload);
    const e = normalizeGitHubCreate(payload, "delivery-2");

    expect(GitRefEvent.safeParse(e).success).toBe(true);
    expect(e.kind).toBe("git.ref");
    expect(e.provider).toBe("github");
    expect(e.deliveryId).toBe("delivery-2");
    expect(e.refType).toBe(payload.ref_type);
    expect(e.refName).toBe(payload.ref);
    expect(e.ref).toBe(`${payload.ref_type === "tag" ? "refs/tags" : "refs/heads"}/${payload.ref}`);
    // GitHub's create payload carries no commit id.
    expect(e.after).toBe("");
    expect(e.deleted).toBe(false);
    expect(e.created).toBe(true);
    expect(e.repository.urls).toEqual([
      payload.repository.clone_url,
      payload.repository.ssh_url,
      payload.repository.git_url,
      payload.repository.html_url,
    ]);
    expect(e.repository.urls).toEqual(HELLO_WORLD_URLS);
    expect(e.repository.fullName).toBe(payload.repository.full_name);
    expect(e.repository.defaultBranch).toBe(payload.repository.default_branch);
    expect(e.headCommit).toBeUndefined();
    expect(e.changedFiles).toBeUndefined();
    expect(payload).toEqual(before);
  });

  it.each([
    ["a tag", (c: Json) => void (c.ref = "v1.2.3"), { ref: "refs/tags/v1.2.3", refType: "tag", refName: "v1.2.3" }],
    ["a branch", (c: Json) => {
      c.ref_type = "branch";
      c.ref = "feature/x";
    }, { ref: "refs/heads/feature/x", refType: "branch", refName: "feature/x" }],
  ])("maps the creation of %s to its full ref", (_what, edit, expected) => {
    expect(normalizeGitHubCreate(derive(tagCreate, edit))).toMatchObject(expected);
  });

  it.each([
    ["missing repository", derive(tagCreate, (c) => delete c.repository), /^GitHub create payload: repository: /],
    ["repository without full_name", derive(tagCreate, (c) => delete c.repository.full_name), /^GitHub create payload: repository\.full_name: /],
    ["repository.ssh_url is a boolean", derive(tagCreate, (c) => void (c.repository.ssh_url = true)), /^GitHub create payload: repository\.ssh_url: .*string/],
    ["ref is missing", derive(tagCreate, (c) => delete c.ref), /^GitHub create payload: ref: /],
    ["ref is a number", derive(tagCreate, (c) => void (c.ref = 1)), /^GitHub create payload: ref: .*string/],
    ["ref_type is repository", derive(tagCreate, (c) => void (c.ref_type = "repository")), /^GitHub create payload: ref_type: /],
    ["ref_type is missing", derive(tagCreate, (c) => delete c.ref_type), /^GitHub create payload: ref_type: /],
    ["the body is a string", JSON.stringify(tagCreate), /^GitHub create payload: \(root\): /],
  ])("rejects a create with %s", (_what, payload, message) => {
    expect(thrown(() => normalizeGitHubCreate(payload)).message).toMatch(message);
  });
});
