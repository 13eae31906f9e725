/**
 * Every git provider through the shared router, on real SQLite (in memory),
 * with the providers' own documentation payloads: a push queues one build per
 * matching BuildConfig, a wrong or missing secret is a 401 that queues
 * nothing, a redelivery queues nothing new, a tag push asks for the semver
 * tags, a deleted ref starts nothing, and https, ssh and scp-like URLs of the
 * repository all match. No builder runs here: these tests stop at the queue
 * (the real builds through these routes are in the `.int` tests).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SqliteStore } from "../src/adapters/local/sqlite-store.js";
import { hmacSha256Hex } from "../src/core/webhook-signature.js";
import { route, type ApiDeps } from "../src/runtime/api.js";
import { applyConfigs } from "../src/runtime/configs.js";
import { queueRuntime } from "./support/queue-runtime.js";

const fixture = (p: string) => JSON.parse(readFileSync(new URL(`./fixtures/webhooks/${p}`, import.meta.url), "utf8"));
const octokit = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: any[] }[];
const SECRET = "provider-secret";

interface Provider {
  name: string;
  path: string;
  trigger: "GitHub" | "GitLab" | "Bitbucket";
  /** The repository in three URL forms. */
  uris: [string, string, string];
  branch: string;
  push: () => any;
  tag: () => any;
  deletedBranch: () => any;
  deletedTag: () => any;
  headers(body: string, secret: string | undefined, delivery: string, kind: "branch" | "tag" | "delete"): Record<string, string>;
}

const hmac = (secret: string, body: string) => `sha256=${hmacSha256Hex(secret, body)}`;
const githubPush = () => structuredClone(octokit.find((e) => e.name === "push")!.examples.find((e) => e.ref === "refs/heads/master" && !e.deleted));

const providers: Provider[] = [
  {
    name: "GitHub",
    path: "/hooks/github",
    trigger: "GitHub",
    uris: ["https://github.com/Codertocat/Hello-World.git", "ssh://git@github.com/Codertocat/Hello-World.git", "git@github.com:Codertocat/Hello-World.git"],
    branch: "master",
    push: githubPush,
    tag: () => Object.assign(githubPush(), { ref: "refs/tags/v1.0.0" }),
    deletedBranch: () => Object.assign(githubPush(), { deleted: true, after: "0".repeat(40) }),
    deletedTag: () => Object.assign(githubPush(), { ref: "refs/tags/v1.0.0", deleted: true, after: "0".repeat(40) }),
    headers: (body, secret, delivery) => ({
      "x-github-event": "push",
      "x-github-delivery": delivery,
      ...(secret ? { "x-hub-signature-256": hmac(secret, body) } : {}),
    }),
  },
  {
    name: "GitLab",
    path: "/hooks/gitlab",
    trigger: "GitLab",
    uris: ["http://example.com/mike/diaspora.git", "ssh://git@example.com/mike/diaspora.git", "git@example.com:mike/diaspora.git"],
    branch: "master",
    push: () => fixture("gitlab/push-branch.json"),
    tag: () => {
      // The docs' tag push is for another project: move it to the same one.
      const t = fixture("gitlab/tag-push.json");
      const p = fixture("gitlab/push-branch.json");
      return { ...t, project: p.project, repository: p.repository };
    },
    deletedBranch: () => fixture("gitlab/push-branch-deleted.json"),
    deletedTag: () => {
      const t = fixture("gitlab/tag-push-deleted.json");
      const p = fixture("gitlab/push-branch.json");
      return { ...t, project: p.project, repository: p.repository };
    },
    headers: (_body, secret, delivery, kind) => ({
      "x-gitlab-event": kind === "tag" ? "Tag Push Hook" : "Push Hook",
      "x-gitlab-event-uuid": delivery,
      ...(secret ? { "x-gitlab-token": secret } : {}),
    }),
  },
  {
    name: "Bitbucket Cloud",
    path: "/hooks/bitbucket",
    trigger: "Bitbucket",
    uris: ["https://bitbucket.org/team_name/repo_name.git", "ssh://git@bitbucket.org/team_name/repo_name.git", "git@bitbucket.org:team_name/repo_name.git"],
    branch: "name-of-branch",
    push: () => fixture("bitbucket/cloud-push-branch.json"),
    tag: () => fixture("bitbucket/cloud-push-tag.json"),
    deletedBranch: () => fixture("bitbucket/cloud-delete-branch.json"),
    deletedTag: () => fixture("bitbucket/cloud-delete-tag.json"),
    headers: (body, secret, delivery) => ({
      "x-event-key": "repo:push",
      "x-request-uuid": delivery,
      ...(secret ? { "x-hub-signature": hmac(secret, body) } : {}),
    }),
  },
  {
    name: "Bitbucket Data Center",
    path: "/hooks/bitbucket",
    trigger: "Bitbucket",
    uris: [
      "https://bitbucket.example.com/scm/proj/repository.git",
      "ssh://git@bitbucket.example.com:7999/proj/repository.git",
      "git@bitbucket.example.com:proj/repository.git",
    ],
    branch: "master",
    push: () => fixture("bitbucket/server-push-branch.json"),
    tag: () => fixture("bitbucket/server-push-tag.json"),
    deletedBranch: () => fixture("bitbucket/server-delete-branch.json"),
    deletedTag: () => fixture("bitbucket/server-delete-tag.json"),
    headers: (body, secret, delivery) => ({
      "x-event-key": "repo:refs_changed",
      "x-request-id": delivery,
      ...(secret ? { "x-hub-signature": hmac(secret, body) } : {}),
    }),
  },
  {
    name: "Gitea",
    path: "/hooks/gitea",
    trigger: "GitHub",
    uris: ["http://localhost:3000/gitea/webhooks.git", "ssh://gitea@localhost:3000/gitea/webhooks.git", "gitea@localhost:gitea/webhooks.git"],
    branch: "develop",
    push: () => fixture("gitea/push-branch.json"),
    tag: () => fixture("gitea/push-tag.json"),
    deletedBranch: () => fixture("gitea/delete-branch.json"),
    deletedTag: () => fixture("gitea/push-tag-deleted.json"),
    headers: (body, secret, delivery, kind) => ({
      "x-gitea-event": kind === "delete" && body.includes('"ref_type"') ? "delete" : "push",
      "x-gitea-delivery": delivery,
      ...(secret ? { "x-gitea-signature": hmacSha256Hex(secret, body) } : {}),
    }),
  },
];

describe.each(providers)("$name webhooks", (p) => {
  let store: SqliteStore;
  let deps: ApiDeps;

  beforeEach(async () => {
    ({ store, deps } = queueRuntime());
    const trigger = { type: p.trigger, [p.trigger.toLowerCase()]: { secret: SECRET } };
    await applyConfigs(
      deps,
      p.uris.map((uri, i) => ({
        apiVersion: "build.openshift.io/v1",
        kind: "BuildConfig",
        metadata: { name: `app-${i}`, namespace: "prov" },
        spec: {
          source: { git: { uri, ref: p.branch } },
          strategy: { type: "Docker" },
          output: { to: { kind: "DockerImage", name: `registry.example.test/prov/app-${i}:latest` } },
          triggers: [trigger],
          ...(i === 0 ? { tagPolicy: { semver: true } } : {}),
        },
      })),
    );
  });
  afterEach(async () => store.close());

  async function post(payload: unknown, opts: { secret?: string; delivery?: string; kind?: "branch" | "tag" | "delete"; path?: string } = {}) {
    const body = JSON.stringify(payload);
    const headers = { "content-type": "application/json", ...p.headers(body, opts.secret, opts.delivery ?? "d-1", opts.kind ?? "branch") };
    const res = await route(deps, { method: "POST", path: opts.path ?? p.path, query: new URLSearchParams(), headers, body: Buffer.from(body) });
    return res as { status: number; body: any };
  }

  it("queues one build per matching BuildConfig, whatever URL form each names the repository with", async () => {
    const res = await post(p.push(), { secret: SECRET, delivery: "push-1" });
    expect(res.status).toBe(202);
    expect(res.body.builds.map((b: any) => b.buildConfig).sort()).toEqual(["app-0", "app-1", "app-2"]);
    const causes = (await store.listBuilds()).map((b) => b.causes[0]!.type);
    expect(new Set(causes)).toEqual(new Set([p.name.startsWith("Bitbucket") ? "Bitbucket" : p.name]));
  });

  it.each([
    ["a wrong secret", "not-the-secret"],
    ["a missing secret", undefined],
  ])("answers %s with 401 and queues nothing", async (_n, secret) => {
    const res = await post(p.push(), { ...(secret ? { secret } : {}), delivery: "push-2" });
    expect(res.status).toBe(401);
    expect(await store.listBuilds()).toEqual([]);
  });

  it("queues nothing new for a redelivery", async () => {
    const first = await post(p.push(), { secret: SECRET, delivery: "push-3" });
    const again = await post(p.push(), { secret: SECRET, delivery: "push-3" });
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    expect(again.body.builds).toEqual(first.body.builds);
    expect((await store.listBuilds()).length).toBe(3);
  });

  it("builds a tag push into its semver image tags, only where a tagPolicy asks", async () => {
    const res = await post(p.tag(), { secret: SECRET, delivery: "tag-1", kind: "tag" });
    expect(res.status).toBe(202);
    const builds = await store.listBuilds();
    expect(builds.map((b) => [b.buildConfig, b.outputTags])).toEqual([["app-0", ["1.0.0", "1.0", "1"]]]);
    expect(builds[0]!.inputs.source?.ref).toBe("v1.0.0");
  });

  it.each([
    ["a deleted branch", "deletedBranch"],
    ["a deleted tag", "deletedTag"],
  ] as const)("starts nothing for %s", async (_n, which) => {
    const res = await post(p[which](), { secret: SECRET, delivery: `del-${which}`, kind: "delete" });
    expect(res.status).toBeLessThan(300);
    expect(res.body.builds).toEqual([]);
    expect(await store.listBuilds()).toEqual([]);
  });

  it("refuses a malformed body with a 400 naming the problem", async () => {
    const res = await route(deps, {
      method: "POST",
      path: p.path,
      query: new URLSearchParams(),
      headers: { "content-type": "application/json", ...p.headers("{", SECRET, "bad-1", "branch") },
      body: Buffer.from("{"),
    });
    expect(res.status).toBe(400);
    expect((res.body as { message: string }).message).toMatch(/not valid JSON/);
  });
});

describe("OpenShift's per-BuildConfig webhook URLs", () => {
  let store: SqliteStore;
  let deps: ApiDeps;
  const url = (secret: string, provider: string) => `/apis/build.openshift.io/v1/namespaces/os/buildconfigs/hello/webhooks/${secret}/${provider}`;

  beforeEach(async () => {
    ({ store, deps } = queueRuntime());
    await applyConfigs(deps, [
      {
        apiVersion: "build.openshift.io/v1",
        kind: "BuildConfig",
        metadata: { name: "hello", namespace: "os" },
        spec: {
          source: { git: { uri: "https://github.com/Codertocat/Hello-World", ref: "master" } },
          strategy: { type: "Docker" },
          output: { to: { kind: "DockerImage", name: "registry.example.test/os/hello:latest" } },
          triggers: [
            { type: "GitHub", github: { secret: "gh-path-secret" } },
            { type: "GitLab", gitlab: { secret: "gl-path-secret" } },
          ],
        },
      },
    ]);
  });
  afterEach(async () => store.close());

  const post = (path: string, payload: unknown, headers: Record<string, string>) =>
    route(deps, { method: "POST", path, query: new URLSearchParams(), headers: { "content-type": "application/json", ...headers }, body: Buffer.from(JSON.stringify(payload)) });

  it("builds a GitHub payload with the secret in the path, unsigned, as OpenShift does", async () => {
    const res = await post(url("gh-path-secret", "github"), githubPush(), { "x-github-event": "push", "x-github-delivery": "os-1" });
    expect(res.status).toBe(202);
    expect((res.body as any).builds).toEqual([{ namespace: "os", buildConfig: "hello", build: "hello-1" }]);
  });

  it("also verifies a signature when one is present", async () => {
    const body = githubPush();
    const res = await post(url("gh-path-secret", "github"), body, {
      "x-github-event": "push",
      "x-github-delivery": "os-2",
      "x-hub-signature-256": hmac("some-other-secret", JSON.stringify(body)),
    });
    expect(res.status).toBe(401);
    expect(await store.listBuilds()).toEqual([]);
  });

  it.each([
    ["github", "wrong"],
    ["gitlab", "gh-path-secret"],
  ])("answers 401 to the %s URL with secret %s", async (provider, secret) => {
    const res = await post(url(secret, provider), provider === "github" ? githubPush() : fixture("gitlab/push-branch.json"), {
      "x-github-event": "push",
      "x-gitlab-event": "Push Hook",
    });
    expect(res.status).toBe(401);
  });

  it("answers a ref mismatch with 200 and a warning, and starts nothing", async () => {
    const res = await post(url("gh-path-secret", "github"), Object.assign(githubPush(), { ref: "refs/heads/other" }), {
      "x-github-event": "push",
      "x-github-delivery": "os-3",
    });
    expect(res.status).toBe(200);
    expect((res.body as any).warning).toContain(`branch "other" does not match ref "master"`);
    expect(await store.listBuilds()).toEqual([]);
  });
});
