/**
 * The foundation path end to end, on real parts: a git push (real git, a
 * post-receive hook posting signed GitHub pushes) to /hooks/github, the
 * SQLite queue, the rootless buildah builder, the Distribution registry, and
 * CloudEvents to a subscriber parsed with the cloudevents SDK.
 */
import { existsSync, readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commitFiles, git, push } from "../src/adapters/local/git-repo.js";
import { createDistributionClient } from "../src/adapters/registry/distribution-client.js";
import { runImage } from "../src/adapters/local/run-image.js";
import { pushPayload } from "../src/adapters/local/git-hook/post-receive.js";
import type { Build } from "../src/core/build.js";
import { buildBaseImage, processTree, startStack, type Stack } from "./support/stack.js";

const SECRET = "s3cret-for-app";
const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: any[] }[];

function octokitPush(name: "push") {
  const entry = examples.find((e) => e.name === name)!;
  // The branch push example (refs/heads/...), not the tag ones.
  return structuredClone(entry.examples.find((e) => String(e.ref).startsWith("refs/heads/") && !e.deleted));
}

describe("local build path", () => {
  let stack: Stack;
  let base: string;
  let app: { bare: string; work: string };

  beforeAll(async () => {
    stack = await startStack();
    await stack.app.store.addSubscriber({ url: stack.events.url, secret: "sub-secret", mode: "binary" }, new Date().toISOString());
    stack.events.secret = "sub-secret";
    base = await buildBaseImage(stack);
    app = stack.repo("app", SECRET);
    await stack.apply([
      {
        apiVersion: "build.openshift.io/v1",
        kind: "BuildConfig",
        metadata: { name: "app", namespace: "team" },
        spec: {
          source: { git: { uri: `file://${app.bare}`, ref: "main" }, contextDir: "svc" },
          strategy: { type: "Docker", dockerStrategy: { buildArgs: [{ name: "MSG", value: "built-by-cascade" }], env: [{ name: "APP_MODE", value: "prod" }] } },
          output: { to: { kind: "DockerImage", name: `${stack.registry}/team/app:latest` }, imageLabels: [{ name: "team", value: "blue" }] },
          triggers: [{ type: "GitHub", github: { secret: SECRET } }],
        },
      },
    ]);
  });

  afterAll(async () => {
    await stack?.close();
  });

  async function pushApp(files: Record<string, string>, message: string): Promise<{ commit: string; build: Build }> {
    const before = (await stack.app.store.listBuilds({ namespace: "team", buildConfig: "app", limit: 1 }))[0]?.number ?? 0;
    const commit = commitFiles(app.work, files, message);
    await push(app.work);
    const [queued] = await stack.app.store.listBuilds({ namespace: "team", buildConfig: "app", limit: 1 });
    expect(queued?.number).toBe(before + 1);
    return { commit, build: await stack.waitForBuild("team", queued!.id) };
  }

  it("builds a signed git push rootless, pushes it, and records inputs and outputs", async () => {
    let sampled: { pid: number; uid: number; cmd: string }[] = [];
    let storageSeen = false;
    let timer: NodeJS.Timeout | undefined;
    stack.onBuilderStart = (pid, workDir) => {
      timer = setInterval(() => {
        sampled.push(...processTree(pid));
        if (existsSync(`${workDir}/storage`)) storageSeen = true;
      }, 25);
    };
    const { commit, build } = await pushApp(
      {
        "svc/Dockerfile": `FROM ${base}\nARG MSG\nRUN echo "$MSG" > /msg && sleep 1\nCMD ["cat", "/msg"]\n`,
      },
      "first app commit",
    );
    clearInterval(timer);
    stack.onBuilderStart = undefined;

    expect(build.phase, build.message).toBe("Complete");
    expect(build.causes[0]).toMatchObject({ type: "GitHub", commit, ref: "refs/heads/main" });
    expect(build.inputs.source).toMatchObject({ commit, uri: `file://${app.bare}` });
    const baseDigest = (await stack.app.store.listBuilds({ namespace: "test", buildConfig: "base", limit: 1 }))[0]!.outputs!.digest;
    expect(build.inputs.bases).toEqual([{ name: base, digest: baseDigest }]);
    expect(build.outputs?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(build.outputs?.tags).toEqual(["latest"]);

    // The registry serves the manifest by digest, with credentials only.
    const url = `${stack.app.registry.url}/v2/team/app/manifests/${build.outputs!.digest}`;
    expect((await fetch(url)).status).toBe(401);
    const { username, password } = stack.app.registry.credentials;
    const res = await fetch(url, {
      headers: {
        authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`,
        accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("docker-content-digest")).toBe(build.outputs!.digest);

    // Labels and environment, read back from the pushed image's config.
    const registry = createDistributionClient({ credentialsFor: () => stack.app.registry.credentials });
    const config = await registry.getImageConfig(`${stack.registry}/team/app@${build.outputs!.digest}`);
    const labels = config.config?.Labels ?? {};
    expect(labels).toMatchObject({
      "org.opencontainers.image.source": `file://${app.bare}`,
      "org.opencontainers.image.revision": commit,
      "org.opencontainers.image.base.name": base,
      "org.opencontainers.image.base.digest": baseDigest,
      "io.openshift.build.commit.id": commit,
      "io.openshift.build.commit.ref": "main",
      "io.openshift.build.commit.message": "first app commit",
      "io.openshift.build.source-context-dir": "svc",
      "io.openshift.build.namespace": "team",
      team: "blue",
    });
    expect(config.config?.Env).toEqual(expect.arrayContaining([`OPENSHIFT_BUILD_COMMIT=${commit}`, "APP_MODE=prod"]));
    // Nothing per build in the image (reproducible digests): the record links build and digest.
    expect(labels["io.openshift.build.name"]).toBeUndefined();
    expect(config.config?.Env?.some((e) => e.startsWith("OPENSHIFT_BUILD_NAME="))).toBe(false);
    // Created at the commit's time (SOURCE_DATE_EPOCH), not the build's.
    expect(Date.parse(config.created!)).toBe(Number(git(app.work, ["log", "-1", "--format=%ct", commit])) * 1000);

    // The log streamed into the build's log file.
    const log = readFileSync(build.logPath!, "utf8");
    expect(log).toContain(`Commit ${commit}`);
    expect(log).toMatch(/STEP \d+\/\d+: RUN echo/);

    // Rootless: every process of the builder's tree ran as a non-root uid, and its storage is gone.
    expect(sampled.length).toBeGreaterThan(2);
    expect(sampled.some((p) => p.cmd.includes("buildah"))).toBe(true);
    expect(sampled.filter((p) => p.uid === 0)).toEqual([]);
    expect(storageSeen).toBe(true);
    const last = stack.builderStarts.at(-1)!;
    expect(existsSync(last.workDir)).toBe(false);

    // The image runs, rootless, and prints what the build wrote.
    const ran = runImage({
      identity: stack.app.identity,
      image: `${stack.registry}/team/app@${build.outputs!.digest}`,
      command: ["cat", "/msg"],
      auth: { [stack.registry]: stack.app.registry.credentials },
      insecure: [stack.registry],
    });
    expect(ran.stdout.trim()).toBe("built-by-cascade");
  });

  it("sends queued, started, succeeded and published CloudEvents to subscribers", async () => {
    await stack.app.bus.kick();
    const last = (await stack.app.store.listBuilds({ namespace: "team", buildConfig: "app", limit: 1 }))[0]!;
    await stack.events.waitFor(["cascade.build.queued", "cascade.build.started", "cascade.build.succeeded", "cascade.image.published"], 10_000);
    const mine = stack.events.events.filter((e) => (e.data as { build?: string }).build === last.id);
    expect(mine.map((e) => e.type)).toEqual(["cascade.build.queued", "cascade.build.started", "cascade.build.succeeded", "cascade.image.published"]);
    for (const e of mine) {
      expect(e.specversion).toBe("1.0");
      expect(e.subject).toBe("team/app");
      expect(e.source).toMatch(/^urn:cascade:local:/);
    }
    expect((mine[3]!.data as { digest: string }).digest).toBe(last.outputs!.digest);
    expect(stack.events.rejected).toBe(0);
  });

  /** Commit and push files, then return the octokit-format payload for that push (the hook has delivered it too). */
  async function hookPayloadFor(files: Record<string, string>, message: string) {
    const before = git(app.work, ["rev-parse", "HEAD"]);
    commitFiles(app.work, files, message);
    const after = git(app.work, ["rev-parse", "HEAD"]);
    // Detach the hook for this push: the test posts the payload itself.
    git(app.bare, ["config", "cascade.hookurl", "http://127.0.0.1:9/unused"]);
    try {
      await push(app.work);
    } finally {
      git(app.bare, ["config", "cascade.hookurl", `${stack.app.url}/hooks/github`]);
    }
    return pushPayload(app.bare, before, after, "refs/heads/main");
  }

  it("answers a bad signature with 401 and queues nothing", async () => {
    const before = (await stack.app.store.listBuilds()).length;
    const body = octokitPush("push");
    body.repository.clone_url = `file://${app.bare}`;
    body.ref = "refs/heads/main";
    const wrong = await stack.postGitHub("push", body, { secret: "not-the-secret", delivery: randomUUID() });
    expect(wrong.status).toBe(401);
    const missing = await stack.postGitHub("push", body, { delivery: randomUUID() });
    expect(missing.status).toBe(401);
    expect((await stack.app.store.listBuilds()).length).toBe(before);
  });

  it("queues nothing new for a redelivery, and names the builds of the first delivery", async () => {
    const body = await hookPayloadFor({ "svc/redelivered.txt": "once\n" }, "delivered twice");
    const delivery = randomUUID();
    const first = await stack.postGitHub("push", body, { secret: SECRET, delivery });
    expect(first.status).toBe(202);
    expect(first.body.builds).toHaveLength(1);
    const count = (await stack.app.store.listBuilds()).length;
    const again = await stack.postGitHub("push", body, { secret: SECRET, delivery });
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    expect(again.body.builds).toEqual(first.body.builds);
    expect((await stack.app.store.listBuilds()).length).toBe(count);
    await stack.waitForBuild("team", first.body.builds[0].build);
  });

  it("queues nothing for a push to an unmatched branch or a deleted branch", async () => {
    const before = (await stack.app.store.listBuilds()).length;
    const body = octokitPush("push");
    body.repository.clone_url = `file://${app.bare}`;
    body.ref = "refs/heads/feature-x";
    const other = await stack.postGitHub("push", body, { secret: SECRET, delivery: randomUUID() });
    expect(other.status).toBe(202);
    expect(other.body.builds).toEqual([]);
    expect(other.body.skipped[0].reason).toContain(`branch "feature-x" does not match ref "main"`);

    const deleted = octokitPush("push");
    deleted.repository.clone_url = `file://${app.bare}`;
    deleted.ref = "refs/heads/main";
    deleted.deleted = true;
    deleted.after = "0000000000000000000000000000000000000000";
    const del = await stack.postGitHub("push", deleted, { secret: SECRET, delivery: randomUUID() });
    expect(del.status).toBe(202);
    expect(del.body.builds).toEqual([]);
    expect(del.body.skipped[0].reason).toContain("deleted");

    // A real `git push --delete` of a branch goes through the hook and starts nothing too.
    git(app.work, ["branch", "doomed"]);
    await push(app.work, "doomed");
    await push(app.work, "doomed", ["--delete"]);
    expect((await stack.app.store.listBuilds()).length).toBe(before);
  });

  it("skips a push of a commit the last successful build already built, saying why", async () => {
    for (const b of await stack.app.store.listBuilds({ namespace: "team", buildConfig: "app" })) await stack.waitForBuild("team", b.id);
    const last = (await stack.app.store.listBuilds({ namespace: "team", buildConfig: "app", phases: ["Complete"], limit: 1 }))[0]!;
    const body = octokitPush("push");
    body.repository.clone_url = `file://${app.bare}`;
    body.ref = "refs/heads/main";
    body.after = last.inputs.source!.commit;
    const before = (await stack.app.store.listBuilds()).length;
    const res = await stack.postGitHub("push", body, { secret: SECRET, delivery: randomUUID() });
    expect(res.body.builds).toEqual([]);
    expect(res.body.skipped).toEqual(
      expect.arrayContaining([{ buildConfig: "team/app", reason: `inputs unchanged: commit ${last.inputs.source!.commit!.slice(0, 12)} was built by ${last.id}` }]),
    );
    expect((await stack.app.store.listBuilds()).length).toBe(before);
  });

  it("answers ping with 200", async () => {
    const r = await stack.postGitHub("ping", { zen: "Keep it logically awesome.", hook_id: 1 }, {});
    expect(r.status).toBe(200);
  });

  it("fails a broken Dockerfile with the buildah error in its log and reason", async () => {
    const { build } = await pushApp({ "svc/Dockerfile": `FROM ${base}\nRUN /bin/sh -c 'echo about to fail; exit 3'\n` }, "broken");
    expect(build.phase).toBe("Failed");
    expect(build.reason).toBe("DockerBuildFailed");
    expect(build.message).toMatch(/exit status 3/);
    const log = readFileSync(build.logPath!, "utf8");
    expect(log).toContain("about to fail");
    expect(log).toMatch(/Error: building at STEP .*exit status 3/);
    await stack.app.bus.kick();
    await stack.events.waitFor(["cascade.build.failed"], 5000);
    const failed = stack.events.events.find((e) => e.type === "cascade.build.failed");
    expect(failed?.data).toMatchObject({ build: build.id, phase: "Failed", reason: "DockerBuildFailed" });
  });

  it("cancels a running build: the builder stops, its storage is removed, and cancelled is emitted", async () => {
    const started = stack.builderStarts.length;
    const { body } = await stack.postGitHub("push", await hookPayloadFor({ "svc/Dockerfile": `FROM ${base}\nRUN sleep 60\n` }, "slow"), {
      secret: SECRET,
      delivery: randomUUID(),
    });
    const id = body.builds[0].build as string;
    for (let i = 0; i < 400 && (await stack.app.store.getBuild("team", id))?.phase !== "Running"; i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 1500)); // inside the RUN step
    const res = await fetch(`${stack.app.url}/builds/team/${id}/cancel`, { method: "POST" });
    expect(res.status).toBe(202);
    const t = Date.now();
    const build = await stack.waitForBuild("team", id, 20_000);
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(build).toMatchObject({ phase: "Cancelled", reason: "Cancelled" });
    expect(readFileSync(build.logPath!, "utf8")).toContain("--> Removing build storage");
    const run = stack.builderStarts[started]!;
    expect(existsSync(run.workDir)).toBe(false);
    expect(processTree(run.pid)).toEqual([]);
    await stack.app.bus.kick();
    await stack.events.waitFor(["cascade.build.cancelled"], 5000);
    const again = await fetch(`${stack.app.url}/builds/team/${id}/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
  });

  it("fails a build that runs past completionDeadlineSeconds with DeadlineExceeded", async () => {
    await stack.apply([
      {
        apiVersion: "build.openshift.io/v1",
        kind: "BuildConfig",
        metadata: { name: "slow", namespace: "team" },
        spec: {
          completionDeadlineSeconds: 2,
          source: { git: { uri: app.bare, ref: "main" }, contextDir: "svc" },
          strategy: { type: "Docker", dockerStrategy: {} },
          output: { to: { kind: "DockerImage", name: `${stack.registry}/team/slow:latest` } },
          triggers: [],
        },
      },
    ]);
    commitFiles(app.work, { "svc/Dockerfile": `FROM ${base}\nRUN sleep 61\n` }, "slow again");
    await push(app.work);
    const b = await stack.app.planning.startBuild("team", "slow");
    const build = await stack.waitForBuild("team", b.id, 30_000);
    expect(build).toMatchObject({ phase: "Failed", reason: "DeadlineExceeded" });
    expect(build.durationMs).toBeLessThan(10_000);
  });

  it("builds an inline spec.source.dockerfile, which replaces the file in contextDir, with noCache", async () => {
    await stack.apply([
      {
        apiVersion: "build.openshift.io/v1",
        kind: "BuildConfig",
        metadata: { name: "inline", namespace: "team" },
        spec: {
          source: { git: { uri: app.bare, ref: "main" }, contextDir: "svc", dockerfile: `FROM ${base}\nRUN echo inline-dockerfile > /inline\n` },
          strategy: { type: "Docker", dockerStrategy: { noCache: true } },
          output: { to: { kind: "DockerImage", name: `${stack.registry}/team/inline:latest` } },
        },
      },
    ]);
    const b = await stack.app.planning.startBuild("team", "inline");
    const build = await stack.waitForBuild("team", b.id);
    expect(build.phase, build.message).toBe("Complete");
    expect(readFileSync(build.logPath!, "utf8")).toContain("RUN echo inline-dockerfile > /inline");
    expect(build.causes[0]?.type).toBe("Manual");
  });

  it("builds a pushed git tag into its semver image tags, and a deleted tag starts nothing", async () => {
    await stack.apply([
      {
        apiVersion: "build.openshift.io/v1",
        kind: "BuildConfig",
        metadata: { name: "release", namespace: "team" },
        spec: {
          source: { git: { uri: app.bare, ref: "main" }, dockerfile: `FROM ${base}\nRUN echo release > /release\n` },
          strategy: { type: "Docker" },
          output: { to: { kind: "DockerImage", name: `${stack.registry}/team/release:latest` } },
          triggers: [{ type: "GitHub", github: { secret: SECRET } }],
          tagPolicy: { semver: true, latest: true },
        },
      },
    ]);
    const count = async () => (await stack.app.store.listBuilds({ namespace: "team", buildConfig: "release" })).length;
    git(app.work, ["tag", "v1.4.2"]);
    await push(app.work, "v1.4.2");
    const [queued] = await stack.app.store.listBuilds({ namespace: "team", buildConfig: "release", limit: 1 });
    expect(queued?.causes[0]).toMatchObject({ type: "GitHub", ref: "refs/tags/v1.4.2" });
    const build = await stack.waitForBuild("team", queued!.id);
    expect(build.phase, build.message).toBe("Complete");
    expect(build.outputs?.tags).toEqual(["1.4.2", "1.4", "1", "latest"]);
    expect(build.inputs.source?.commit).toBe(git(app.work, ["rev-parse", "v1.4.2^{commit}"]));
    const client = createDistributionClient({ credentialsFor: () => stack.app.registry.credentials });
    for (const tag of ["1.4.2", "1.4", "1", "latest"]) {
      expect((await client.resolveDigest(`${stack.registry}/team/release:${tag}`)).digest).toBe(build.outputs!.digest);
    }
    // The app BuildConfig (no tagPolicy) did not build the tag.
    expect((await stack.app.store.listBuilds({ namespace: "team", buildConfig: "app", limit: 1 }))[0]?.causes[0]?.ref).not.toBe("refs/tags/v1.4.2");
    // GitHub also sends `create` for a new tag: the tag already built, so it queues nothing.
    const create = structuredClone(examples.find((e) => e.name === "create")!.examples.find((e) => e.ref_type === "tag"));
    create.ref = "v1.4.2";
    create.repository.clone_url = `file://${app.bare}`;
    const created = await stack.postGitHub("create", create, { secret: SECRET, delivery: randomUUID() });
    expect(created.body.builds).toEqual([]);
    const before = await count();
    await push(app.work, "v1.4.2", ["--delete"]);
    expect(await count()).toBe(before);
  });

  it("queues nothing for a push that only touches files outside spec.paths, from the payload or from git diff", async () => {
    await stack.apply([
      {
        apiVersion: "build.openshift.io/v1",
        kind: "BuildConfig",
        metadata: { name: "mono", namespace: "team" },
        spec: {
          paths: ["src/**"],
          source: { git: { uri: app.bare, ref: "main" }, contextDir: "svc", dockerfile: `FROM ${base}\n` },
          strategy: { type: "Docker" },
          output: { to: { kind: "DockerImage", name: `${stack.registry}/team/mono:latest` } },
          triggers: [{ type: "GitHub", github: { secret: SECRET } }],
        },
      },
    ]);
    const monoBuilds = async () => (await stack.app.store.listBuilds({ namespace: "team", buildConfig: "mono" })).length;
    // Through the hook: its payload lists the changed files.
    commitFiles(app.work, { "docs/readme.md": "outside\n" }, "docs only");
    await push(app.work);
    expect(await monoBuilds()).toBe(0);
    // A payload without file lists: Cascade asks git for the diff.
    const payload = await hookPayloadFor({ "other/x.txt": "outside too\n" }, "outside again");
    payload.commits = [];
    (payload as { head_commit: unknown }).head_commit = null;
    const outside = await stack.postGitHub("push", payload, { secret: SECRET, delivery: randomUUID() });
    expect(outside.body.skipped).toEqual(expect.arrayContaining([expect.objectContaining({ buildConfig: "team/mono", reason: expect.stringContaining("no changed file matches spec.paths (src/**) under svc/") })]));
    expect(await monoBuilds()).toBe(0);
    const inside = await hookPayloadFor({ "svc/src/main.c": "int main(){}\n" }, "inside");
    inside.commits = [];
    (inside as { head_commit: unknown }).head_commit = null;
    const res = await stack.postGitHub("push", inside, { secret: SECRET, delivery: randomUUID() });
    expect(res.body.builds.map((b: { buildConfig: string }) => b.buildConfig)).toContain("mono");
    expect(await monoBuilds()).toBe(1);
    const build = (await stack.app.store.listBuilds({ namespace: "team", buildConfig: "mono", limit: 1 }))[0]!;
    await stack.waitForBuild("team", build.id);
  });

  it("builds through OpenShift's per-BuildConfig URLs, with a GitHub payload and with a generic one", async () => {
    for (const b of await stack.app.store.listBuilds({ namespace: "team", buildConfig: "app" })) await stack.waitForBuild("team", b.id);
    const payload = await hookPayloadFor({ "svc/Dockerfile": `FROM ${base}\nRUN echo openshift-url > /u\n` }, "via the OpenShift URL");
    const gh = await fetch(`${stack.app.url}/apis/build.openshift.io/v1/namespaces/team/buildconfigs/app/webhooks/${SECRET}/github`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": randomUUID() },
      body: JSON.stringify(payload),
    });
    const ghBody = (await gh.json()) as { builds: { build: string }[] };
    expect(gh.status, JSON.stringify(ghBody)).toBe(202);
    const ghBuild = ghBody.builds[0]!.build;
    const built = await stack.waitForBuild("team", ghBuild);
    expect(built.phase, built.message).toBe("Complete");
    expect(built.inputs.source?.commit).toBe(payload.after);
    const wrong = await fetch(`${stack.app.url}/apis/build.openshift.io/v1/namespaces/team/buildconfigs/app/webhooks/nope/github`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push" },
      body: JSON.stringify(payload),
    });
    expect(wrong.status).toBe(401);
  });

  it("builds through the generic webhook with its secret, and refuses a wrong one", async () => {
    await stack.apply([
      {
        apiVersion: "build.openshift.io/v1",
        kind: "BuildConfig",
        metadata: { name: "generic-app", namespace: "team" },
        spec: {
          source: { git: { uri: app.bare, ref: "main" }, contextDir: "svc" },
          strategy: { type: "Docker", dockerStrategy: { from: { kind: "DockerImage", name: base } } },
          output: { to: { kind: "DockerImage", name: `${stack.registry}/team/generic-app:v1` } },
          triggers: [{ type: "Generic", generic: { secret: "gen-secret" } }],
        },
      },
    ]);
    commitFiles(app.work, { "svc/Dockerfile": `FROM scratch\nCOPY Dockerfile /Dockerfile\n` }, "replaced by dockerStrategy.from");
    await push(app.work);
    const commit = git(app.work, ["rev-parse", "HEAD"]);
    const url = `${stack.app.url}/hooks/generic/team/generic-app`;
    const payload = { type: "Git", git: { uri: app.bare, ref: "main", commit } };
    const bad = await fetch(url, { method: "POST", headers: { authorization: "Bearer nope" }, body: JSON.stringify(payload) });
    expect(bad.status).toBe(401);
    const mismatch = await fetch(`${url}?secret=gen-secret`, { method: "POST", body: JSON.stringify({ git: { ref: "other" } }) });
    expect(mismatch.status).toBe(200);
    expect(((await mismatch.json()) as { builds: unknown[] }).builds).toEqual([]);
    const ok = await fetch(`${stack.app.url}/apis/build.openshift.io/v1/namespaces/team/buildconfigs/generic-app/webhooks/gen-secret/generic`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    expect(ok.status).toBe(202);
    const { builds } = (await ok.json()) as { builds: { build: string }[] };
    const build = await stack.waitForBuild("team", builds[0]!.build);
    expect(build.phase, build.message).toBe("Complete");
    expect(build.inputs.source?.commit).toBe(commit);
    // dockerStrategy.from replaced the last FROM (scratch) with the base image.
    expect(build.inputs.bases.map((b) => b.name)).toEqual([base]);
    expect(build.outputs?.tags).toEqual(["v1"]);
  });
});
