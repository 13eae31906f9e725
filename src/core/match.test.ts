/**
 * Unit tests for matching git ref events to BuildConfigs. Events come from
 * the real `@octokit/webhooks-examples` payloads (Codertocat/Hello-World)
 * through the GitHub normalisers; BuildConfigs go through `checkBuildConfig`,
 * so both sides are what the runtime really hands to `matchGitEvent`.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { checkBuildConfig, type BuildConfig } from "./buildconfig.js";
import type { GitRefEvent } from "./events-in.js";
import { matchGitEvent, RepositoryIndex, repositoryKey, type GitMatchResult } from "./match.js";
import { normalizeGitHubCreate, normalizeGitHubPush } from "./webhooks/github.js";

/** Webhook payloads are edited freely in derived cases. */
type Json = Record<string, any>;

const definitions = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: Json[] }[];
const pushes = definitions.find((d) => d.name === "push")!.examples;
const creates = definitions.find((d) => d.name === "create")!.examples;

const branchPushPayload = pushes.find((p) => p.ref === "refs/heads/master" && p.commits?.length > 0)!;
const tagPushPayload = pushes.find((p) => p.ref === "refs/tags/simple-tag" && p.created === true)!;
const tagDeletedPayload = pushes.find((p) => p.ref === "refs/tags/simple-tag" && p.deleted === true)!;
const tagCreatePayload = creates.find((c) => c.ref_type === "tag" && c.ref === "simple-tag")!;

function derive(base: Json, edit: (p: Json) => void): Json {
  const copy = structuredClone(base);
  edit(copy);
  return copy;
}

/** A push to `master` of Codertocat/Hello-World (default branch `master`). */
const pushMaster = normalizeGitHubPush(branchPushPayload, "d-1");
const pushFeature = normalizeGitHubPush(derive(branchPushPayload, (p) => void (p.ref = "refs/heads/feature/login")));
const pushMasterDeleted = normalizeGitHubPush(
  derive(branchPushPayload, (p) => {
    p.before = p.after;
    p.after = "0".repeat(40);
    p.deleted = true;
    p.created = false;
    p.commits = [];
    p.head_commit = null;
  }),
);
const pushTag = normalizeGitHubPush(tagPushPayload);
const pushTagDeleted = normalizeGitHubPush(tagDeletedPayload);
const createTag = normalizeGitHubCreate(tagCreatePayload);
const tagNamedMaster = normalizeGitHubCreate(derive(tagCreatePayload, (c) => void (c.ref = "master")));

const GITHUB_TRIGGER = { type: "GitHub", github: { secret: "s3cr3t-github" } };

/** A BuildConfig as users write it, validated by `checkBuildConfig`. */
function buildConfig(
  name: string,
  opts: { uri?: string; ref?: string; namespace?: string; triggers?: unknown[]; source?: unknown } = {},
): BuildConfig {
  const result = checkBuildConfig({
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name, ...(opts.namespace ? { namespace: opts.namespace } : {}) },
    spec: {
      source: opts.source ?? {
        type: "Git",
        git: { uri: opts.uri ?? "https://github.com/Codertocat/Hello-World.git", ...(opts.ref ? { ref: opts.ref } : {}) },
      },
      strategy: { type: "Docker", dockerStrategy: {} },
      output: { to: { kind: "DockerImage", name: `registry.example.com/team/${name}:latest` } },
      triggers: opts.triggers ?? [GITHUB_TRIGGER],
    },
  });
  if (!result.ok) throw new Error(`fixture BuildConfig ${name} is invalid: ${JSON.stringify(result.errors)}`);
  return result.config;
}

const names = (xs: readonly { config: BuildConfig }[]) => xs.map((x) => `${x.config.metadata.namespace}/${x.config.metadata.name}`);

/** Every candidate is either matched or skipped, exactly once. */
function expectPartition(r: GitMatchResult): void {
  const decided = [...r.matched, ...r.skipped].map((x) => x.config);
  expect(decided).toHaveLength(r.candidates.length);
  expect(new Set(decided)).toEqual(new Set(r.candidates));
}

/** The same push, with only one of the payload's four repository URLs kept. */
function pushWithOnly(key: "clone_url" | "ssh_url" | "git_url" | "html_url"): GitRefEvent {
  return normalizeGitHubPush(
    derive(branchPushPayload, (p) => {
      for (const k of ["clone_url", "ssh_url", "git_url", "html_url"]) if (k !== key) delete p.repository[k];
    }),
  );
}

describe("matchGitEvent: repository", () => {
  const sameRepo = [
    "https://github.com/Codertocat/Hello-World.git",
    "https://github.com/codertocat/hello-world",
    "HTTPS://GITHUB.COM/Codertocat/Hello-World/",
    "http://github.com/Codertocat/Hello-World.git",
    "ssh://git@github.com/Codertocat/Hello-World.git",
    "ssh://git@github.com:22/Codertocat/Hello-World",
    "git@github.com:Codertocat/Hello-World.git",
    "git@github.com:Codertocat/Hello-World",
    "github.com:Codertocat/Hello-World.git",
    "git://github.com/Codertocat/Hello-World",
  ];
  const payloadUrls = ["clone_url", "ssh_url", "git_url", "html_url"] as const;

  it.each(sameRepo.flatMap((uri) => payloadUrls.map((key) => [uri, key] as const)))(
    "a BuildConfig on %s is a candidate for a payload that gives only %s",
    (uri, key) => {
      const event = pushWithOnly(key);
      expect(event.repository.urls).toHaveLength(1);
      const config = buildConfig("app", { uri, ref: "master" });
      const r = matchGitEvent(event, [config]);
      expect(r.candidates).toEqual([config]);
      expect(names(r.matched)).toEqual(["default/app"]);
    },
  );

  it.each([
    ["another repository of the owner", "https://github.com/Codertocat/Hello-World-2.git"],
    ["a fork", "git@github.com:Octocat/Hello-World.git"],
    ["the same path on another host", "https://gitlab.com/Codertocat/Hello-World.git"],
    ["a GitHub Enterprise host", "https://github.example.com/Codertocat/Hello-World.git"],
    ["the owner only", "https://github.com/Codertocat"],
    ["a local path", "/srv/git/Hello-World.git"],
    ["an unparseable uri", "not a url"],
  ])("a BuildConfig on %s (%s) is not a candidate", (_what, uri) => {
    const other = buildConfig("other", { uri, ref: "master" });
    const mine = buildConfig("mine", { ref: "master" });
    const r = matchGitEvent(pushMaster, [other, mine]);
    expect(r.candidates).toEqual([mine]);
    expect(names(r.matched)).toEqual(["default/mine"]);
    expect(names(r.skipped)).toEqual([]);
  });
});

describe("matchGitEvent: triggers", () => {
  it.each([
    ["no triggers", []],
    ["only a Generic trigger", [{ type: "Generic", generic: { secret: "g" } }]],
    ["only a GitLab trigger", [{ type: "GitLab", gitlab: { secret: "g" } }]],
    ["only a Bitbucket trigger", [{ type: "Bitbucket", bitbucket: { secret: "g" } }]],
    ["ConfigChange and ImageChange triggers", [{ type: "ConfigChange" }, { type: "ImageChange" }]],
  ])("a BuildConfig with %s is not a candidate", (_what, triggers) => {
    const config = buildConfig("app", { ref: "master", triggers });
    const r = matchGitEvent(pushMaster, [config]);
    expect(r).toEqual({ candidates: [], matched: [], skipped: [] });
  });

  it.each([
    ["a GitHub trigger among others", [{ type: "ConfigChange" }, { type: "Generic", generic: { secret: "g" } }, GITHUB_TRIGGER]],
    ["a GitHub trigger by secretReference", [{ type: "GitHub", github: { secretReference: { name: "hook" } } }]],
    ["OpenShift's legacy lowercase github trigger", [{ type: "github", github: { secret: "s" } }]],
  ])("a BuildConfig with %s is a candidate", (_what, triggers) => {
    const config = buildConfig("app", { ref: "master", triggers });
    expect(matchGitEvent(pushMaster, [config]).candidates).toEqual([config]);
  });

  it("a BuildConfig with a GitHub trigger but no git source is not a candidate", () => {
    const config = buildConfig("inline", { source: { type: "Dockerfile", dockerfile: "FROM scratch\n" } });
    expect(matchGitEvent(pushMaster, [config]).candidates).toEqual([]);
  });

  it("a Gitea push is matched by GitHub triggers (Gitea sends GitHub-compatible payloads)", () => {
    const config = buildConfig("app", { ref: "master" });
    const r = matchGitEvent({ ...pushMaster, provider: "gitea" }, [config]);
    expect(names(r.matched)).toEqual(["default/app"]);
  });

  it("a generic-provider event is not matched by a GitHub trigger", () => {
    const config = buildConfig("app", { ref: "master" });
    expect(matchGitEvent({ ...pushMaster, provider: "generic" }, [config]).candidates).toEqual([]);
  });
});

describe("matchGitEvent: refs", () => {
  it.each([
    // [what, event, BuildConfig ref, matched?, reason pattern]
    ["a push to the configured branch", pushMaster, "master", true, /^push to branch "master"$/],
    ["a push to the configured branch, written as a full ref", pushMaster, "refs/heads/master", true, /^push to branch "master"$/],
    ["a push to another branch", pushFeature, "master", false, /branch "feature\/login" does not match ref "master"/],
    ["a push to master when the BuildConfig builds main", pushMaster, "main", false, /branch "master" does not match ref "main"/],
    ["no git.ref: a push to the payload's default branch", pushMaster, undefined, true, /^push to branch "master"$/],
    ["no git.ref: a push to another branch", pushFeature, undefined, false, /branch "feature\/login" does not match ref "master"/],
    ["a deleted branch", pushMasterDeleted, "master", false, /deleted/],
    ["a deleted branch, no git.ref", pushMasterDeleted, undefined, false, /deleted/],
    ["a deleted tag equal to the configured ref", pushTagDeleted, "simple-tag", false, /deleted/],
    ["a pushed tag equal to the configured ref", pushTag, "simple-tag", true, /^tag "simple-tag" is the configured ref$/],
    ["a pushed tag equal to the configured full ref", pushTag, "refs/tags/simple-tag", true, /^tag "simple-tag" is the configured ref$/],
    ["a created tag (create event) equal to the configured ref", createTag, "simple-tag", true, /^tag "simple-tag" is the configured ref$/],
    ["a pushed tag when the BuildConfig builds a branch", pushTag, "master", false, /tag "simple-tag" does not match ref "master"/],
    ["a pushed tag when the BuildConfig builds another tag", pushTag, "v1.0.0", false, /tag "simple-tag" does not match ref "v1.0.0"/],
    ["a pushed tag, no git.ref", pushTag, undefined, false, /tag "simple-tag" does not match ref "master"/],
    ["a created tag, no git.ref", createTag, undefined, false, /tag "simple-tag" does not match ref "master"/],
    // The default branch stands in for a missing git.ref only for branches: a tag named like it is not built.
    ["a tag named like the default branch, no git.ref", tagNamedMaster, undefined, false, /tag "master" does not match ref "master"/],
  ])("%s", (_what, event, ref, matched, reason) => {
    const config = buildConfig("app", { ref });
    const r = matchGitEvent(event, [config]);
    expect(r.candidates).toEqual([config]);
    expectPartition(r);
    const decided = matched ? r.matched : r.skipped;
    expect(decided).toHaveLength(1);
    expect(decided[0]!.config).toBe(config);
    expect(decided[0]!.reason).toMatch(reason);
    expect(matched ? r.skipped : r.matched).toEqual([]);
  });

  it.each([
    ["a renamed default branch", (p: Json) => void (p.repository.default_branch = "main"), /branch "master" does not match ref "main"/],
    ["no default branch at all", (p: Json) => {
      delete p.repository.default_branch;
      delete p.repository.master_branch;
    }, /no spec\.source\.git\.ref and the payload names no default branch/],
  ])("no git.ref and %s: the push is skipped", (_what, edit, reason) => {
    const event = normalizeGitHubPush(derive(branchPushPayload, edit));
    const r = matchGitEvent(event, [buildConfig("app")]);
    expect(r.matched).toEqual([]);
    expect(r.skipped).toHaveLength(1);
    expect(r.skipped[0]!.reason).toMatch(reason);
  });

  it("the deleted reason names the ref and its kind", () => {
    expect(matchGitEvent(pushMasterDeleted, [buildConfig("app", { ref: "master" })]).skipped[0]!.reason).toBe(
      'branch "master" was deleted; a deleted ref starts nothing',
    );
    expect(matchGitEvent(pushTagDeleted, [buildConfig("app", { ref: "simple-tag" })]).skipped[0]!.reason).toBe(
      'tag "simple-tag" was deleted; a deleted ref starts nothing',
    );
  });
});

describe("matchGitEvent: fan-out", () => {
  it("every BuildConfig on the repository is considered, each with its own reason", () => {
    const web = buildConfig("web", { uri: "https://github.com/Codertocat/Hello-World.git", ref: "master" });
    const worker = buildConfig("worker", { namespace: "jobs", uri: "git@github.com:Codertocat/Hello-World.git" });
    const release = buildConfig("release", { uri: "ssh://git@github.com/codertocat/hello-world", ref: "simple-tag" });
    const elsewhere = buildConfig("elsewhere", { uri: "https://github.com/Codertocat/Other.git", ref: "master" });
    const noHook = buildConfig("nohook", { ref: "master", triggers: [{ type: "ConfigChange" }] });
    const configs = [web, elsewhere, worker, noHook, release];

    const onPush = matchGitEvent(pushMaster, configs);
    expect(onPush.candidates).toEqual([web, worker, release]);
    expect(names(onPush.matched)).toEqual(["default/web", "jobs/worker"]);
    expect(onPush.skipped.map((s) => [names([s])[0], s.reason])).toEqual([
      ["default/release", 'branch "master" does not match ref "simple-tag"'],
    ]);
    expectPartition(onPush);

    const onTag = matchGitEvent(pushTag, configs);
    expect(names(onTag.matched)).toEqual(["default/release"]);
    expect(names(onTag.skipped)).toEqual(["default/web", "jobs/worker"]);
    expectPartition(onTag);
  });

  it("two BuildConfigs on the same repository and branch both match", () => {
    const a = buildConfig("api", { ref: "master" });
    const b = buildConfig("api", { namespace: "staging", uri: "git@github.com:Codertocat/Hello-World.git", ref: "refs/heads/master" });
    const r = matchGitEvent(pushMaster, [a, b]);
    expect(r.matched.map((m) => m.config)).toEqual([a, b]);
    expect(r.matched.map((m) => m.reason)).toEqual(['push to branch "master"', 'push to branch "master"']);
    expect(r.skipped).toEqual([]);
  });

  it("does not change its inputs", () => {
    const configs = [buildConfig("a", { ref: "master" }), buildConfig("b", { ref: "main" })];
    const before = structuredClone(configs);
    const event = structuredClone(pushMaster);
    matchGitEvent(pushMaster, configs);
    expect(configs).toEqual(before);
    expect(pushMaster).toEqual(event);
  });

  it("an empty list of BuildConfigs gives an empty result", () => {
    expect(matchGitEvent(pushMaster, [])).toEqual({ candidates: [], matched: [], skipped: [] });
  });
});

describe("fully qualified refs keep their kind", () => {
  it.each([
    ["refs/tags/v1", "refs/heads/v1", false],
    ["refs/heads/v1", "refs/tags/v1", false],
    ["refs/tags/v1", "refs/tags/v1", true],
    ["refs/heads/main", "refs/heads/main", true],
  ])("configured %s, pushed %s: builds %s", (configured, pushed, builds) => {
    const r = checkBuildConfig({
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name: "q" },
      spec: {
        source: { git: { uri: "https://github.com/o/r.git", ref: configured } },
        strategy: { type: "Docker" },
        triggers: [{ type: "GitHub", github: { secret: "s" } }],
      },
    });
    if (!r.ok) throw new Error("fixture invalid");
    const name = pushed.replace(/^refs\/(heads|tags)\//, "");
    const event = {
      kind: "git.ref" as const,
      provider: "github" as const,
      repository: { urls: ["https://github.com/o/r"] },
      ref: pushed,
      refType: pushed.startsWith("refs/tags/") ? ("tag" as const) : ("branch" as const),
      refName: name,
      after: "a".repeat(40),
      deleted: false,
      created: false,
    };
    expect(matchGitEvent(event, [r.config]).matched.length).toBe(builds ? 1 : 0);
  });
});

describe("spec.paths", () => {
  const withPaths = (paths: string[], contextDir?: string) => {
    const r = checkBuildConfig({
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name: "mono" },
      spec: {
        paths,
        source: { git: { uri: "https://github.com/o/mono.git", ref: "main" }, ...(contextDir ? { contextDir } : {}) },
        strategy: { type: "Docker" },
        triggers: [{ type: "GitHub", github: { secret: "s" } }],
      },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.config;
  };
  const push = (changedFiles?: string[]): GitRefEvent => ({
    kind: "git.ref",
    provider: "github",
    repository: { urls: ["git@github.com:o/mono.git"] },
    ref: "refs/heads/main",
    refType: "branch",
    refName: "main",
    after: "b".repeat(40),
    deleted: false,
    created: false,
    ...(changedFiles ? { changedFiles } : {}),
  });
  it.each([
    [["src/**"], "services/api", ["services/api/src/main.ts"], true],
    [["src/**"], "services/api", ["services/web/src/main.ts"], false],
    [["src/**", "Dockerfile"], "services/api", ["services/api/Dockerfile"], true],
    [["**/*.go"], undefined, ["cmd/x/main.go", "README.md"], true],
    [["**/*.go"], undefined, ["README.md", "docs/a.md"], false],
    [["{a,b}/*"], undefined, ["b/file"], true],
    [["src/**"], "services/api", [], false],
  ])("paths %j under %s with changes %j builds: %s", (paths, dir, changed, builds) => {
    const r = matchGitEvent(push(changed), [withPaths(paths, dir)]);
    expect(r.matched.length).toBe(builds ? 1 : 0);
    if (!builds) expect(r.skipped[0]!.reason).toContain("no changed file matches spec.paths");
  });
  it("builds, saying so, when the changed files are unknown", () => {
    const r = matchGitEvent(push(undefined), [withPaths(["src/**"])]);
    expect(r.matched[0]!.reason).toContain("could not be checked");
  });
});

describe("RepositoryIndex", () => {
  const sameRepo = [
    "https://github.com/Codertocat/Hello-World.git",
    "HTTPS://GITHUB.COM/codertocat/hello-world/",
    "ssh://git@github.com:22/Codertocat/Hello-World",
    "git@github.com:Codertocat/Hello-World",
    "git://github.com/Codertocat/Hello-World",
  ];
  const others = [
    "https://github.com/Codertocat/Hello-World-2.git",
    "https://gitlab.com/Codertocat/Hello-World.git",
    "/srv/git/Hello-World.git",
    "/srv/git/hello-world.git",
    "file:///srv/git/Hello-World.git",
    "not a url",
  ];
  const configs = [...sameRepo, ...others].flatMap((uri, i) => [
    buildConfig(`c${i}-main`, { uri, ref: "master", namespace: `ns${i % 3}` }),
    buildConfig(`c${i}-dev`, { uri, ref: "dev", namespace: `ns${i % 2}` }),
  ]);
  const index = new RepositoryIndex(configs);

  it("gives the keys sameRepository compares by: remote case-insensitively, local paths exactly", () => {
    expect(new Set(sameRepo.map(repositoryKey))).toEqual(new Set(["github.com/codertocat/hello-world"]));
    expect(repositoryKey("/srv/git/Hello-World.git")).toBe("file:///srv/git/Hello-World.git");
    expect(repositoryKey("/srv/git/hello-world.git")).not.toBe(repositoryKey("/srv/git/Hello-World.git"));
    expect(repositoryKey("not a url")).toBeUndefined();
    expect(index.size).toBe(5);
  });

  it.each([
    ["a payload's four URLs", pushMaster],
    ["only its ssh URL", pushWithOnly("ssh_url")],
    ["a tag push", pushTag],
    ["a deleted branch", pushMasterDeleted],
    ["a local repository", { ...pushMaster, repository: { urls: ["/srv/git/Hello-World.git", "file://localhost/srv/git/Hello-World.git/"] } }],
    ["two repositories at once", { ...pushMaster, repository: { urls: ["git@gitlab.com:Codertocat/Hello-World.git", "https://github.com/Codertocat/Hello-World"] } }],
    ["an unknown repository", { ...pushMaster, repository: { urls: ["https://github.com/nobody/nothing"] } }],
    ["an unparseable URL", { ...pushMaster, repository: { urls: ["::::"] } }],
  ])("given %s, when matched through the index, then the result is the full scan's", (_what, event) => {
    const full = matchGitEvent(event, configs);
    const indexed = matchGitEvent(event, index.configsFor(event.repository.urls));
    expect(indexed).toEqual(full);
    expect(indexed.candidates.map((c) => c.metadata.name)).toEqual(full.candidates.map((c) => c.metadata.name));
  });

  it("given two URLs of different repositories, when looked up, then their BuildConfigs come back in the order given", () => {
    const got = index.configsFor(["https://gitlab.com/Codertocat/Hello-World", "git@github.com:Codertocat/Hello-World.git"]);
    expect(got.map((c) => configs.indexOf(c))).toEqual([...got.map((c) => configs.indexOf(c))].sort((a, b) => a - b));
    expect(got).toHaveLength(sameRepo.length * 2 + 2);
  });
});
