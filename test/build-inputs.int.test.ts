/**
 * Build inputs on real parts: Cascade's secrets reach the `RUN` steps that
 * need them, through an OpenShift build volume and through
 * `RUN --mount=type=secret`, and nowhere else. Each step proves it read its
 * secret by writing the secret's hash into the image; then every pushed blob
 * (the image's and the layer cache's), every file under CASCADE_HOME (the
 * SQLite store, the logs), the build record and every CloudEvent are searched
 * for the secret bytes. A private repository behind HTTP basic auth (git's
 * own http-backend on loopback) builds with `spec.source.sourceSecret`, and
 * fails with `FetchSourceFailed` and a clear reason without it.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloneRepo, commitFiles, initBareRepo, push } from "../src/adapters/local/git-repo.js";
import { startGitHttpServer, type GitHttpServer } from "./support/git-http-server.js";
import { runImage } from "../src/adapters/local/run-image.js";
import type { Build } from "../src/core/build.js";
import { REDACTED } from "../src/core/redact.js";
import { filesContaining, imageBlobs } from "./support/scan.js";
import { buildBaseImage, startStack, type Stack } from "./support/stack.js";

const NS = "inputs";
const SECRET = "inputs-secret";
const VOLUME_SECRET = "maven-password-9f3c1e7a"; // in a Secret mounted as a build volume
const MOUNT_SECRET = "npm-token-4b8d2a6c0e"; // read with RUN --mount=type=secret
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("secrets and config maps in builds", () => {
  let stack: Stack;
  let base: string;
  let build: Build;
  let image: string;

  beforeAll(async () => {
    stack = await startStack();
    await stack.app.store.addSubscriber({ url: stack.events.url, secret: "sub-secret", mode: "structured" }, new Date().toISOString());
    stack.events.secret = "sub-secret";
    base = await buildBaseImage(stack);
    const now = new Date().toISOString();
    await stack.app.secrets.put({ kind: "Secret", namespace: NS, name: "maven", data: { "settings.xml": Buffer.from(`<password>${VOLUME_SECRET}</password>\n`) } }, now);
    await stack.app.secrets.put({ kind: "Secret", namespace: NS, name: "npm", data: { token: Buffer.from(MOUNT_SECRET) } }, now);
    await stack.app.secrets.put({ kind: "ConfigMap", namespace: NS, name: "settings", data: { "colour.txt": Buffer.from("blue\n") } }, now);
  }, 240_000);
  afterAll(async () => {
    await stack?.close();
  });

  const config = (name: string, repo: string, dockerStrategy: Record<string, unknown>) => ({
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name, namespace: NS },
    spec: {
      source: { git: { uri: repo, ref: "main" } },
      strategy: { type: "Docker", dockerStrategy },
      output: { to: { kind: "DockerImage", name: `${stack.registry}/${NS}/${name}:latest` } },
      triggers: [{ type: "GitHub", github: { secret: SECRET } }],
    },
  });

  it("mounts a Secret volume, a ConfigMap volume and a build secret into their RUN steps", async () => {
    const repo = stack.repo("app", SECRET);
    await stack.apply([
      config("app", repo.bare, {
        volumes: [
          { name: "maven", source: { type: "Secret", secret: { secretName: "maven" } }, mounts: [{ destinationPath: "/opt/maven" }] },
          { name: "settings", source: { type: "ConfigMap", configMap: { name: "settings" } }, mounts: [{ destinationPath: "/etc/settings" }] },
        ],
        buildSecrets: [{ id: "npmtoken", secret: { name: "npm" } }],
      }),
    ]);
    commitFiles(
      repo.work,
      {
        Dockerfile: [
          `FROM ${base}`,
          "RUN sha256sum /opt/maven/settings.xml | cut -d' ' -f1 > /volume-hash && cp /etc/settings/colour.txt /colour && echo \"settings say: $(cat /opt/maven/settings.xml)\"",
          "RUN --mount=type=secret,id=npmtoken,required=true sha256sum /run/secrets/npmtoken | cut -d' ' -f1 > /mount-hash && echo \"token is $(cat /run/secrets/npmtoken)\"",
          'CMD ["/bin/cat", "/volume-hash", "/mount-hash", "/colour"]',
          "",
        ].join("\n"),
      },
      "app reading its secrets",
    );
    await push(repo.work);
    build = await stack.latestBuild(NS, "app");
    const log = readFileSync(build.logPath!, "utf8");
    expect(build.phase, `${build.message}\n${log}`).toBe("Complete");
    image = `${stack.registry}/${NS}/app@${build.outputs!.digest}`;
    const ran = runImage({ identity: stack.app.identity, image, command: ["/bin/cat", "/volume-hash", "/mount-hash", "/colour"], auth: { [stack.registry]: stack.app.registry.credentials }, insecure: [stack.registry] });
    expect(ran.stdout.split("\n").slice(0, 3)).toEqual([sha(`<password>${VOLUME_SECRET}</password>\n`), sha(MOUNT_SECRET), "blue"]);
    // The steps printed the secrets; the log holds the redaction instead.
    expect(log).toContain(`token is ${REDACTED}`);
    expect(log).toContain(`settings say: ${REDACTED}`);
    expect(log).not.toContain(VOLUME_SECRET);
    expect(log).toContain("Build volume maven: Secret maven mounted read-only at /opt/maven");
  });

  it("leaves the secret bytes in no pushed blob, no file under CASCADE_HOME, no build record and no event", async () => {
    const { credentials } = stack.app.registry;
    const blobs = await imageBlobs({ registry: stack.registry, credentials }, `${NS}/app`, build.outputs!.digest);
    expect(blobs.length).toBeGreaterThan(3);
    for (const secret of [VOLUME_SECRET, MOUNT_SECRET]) {
      const needle = Buffer.from(secret);
      expect(blobs.filter((b) => b.bytes.includes(needle)).map((b) => b.digest), `${secret} in a pushed blob`).toEqual([]);
      // The SQLite store, the build logs, and the registry's storage (every blob, the layer cache's too), gunzipped.
      expect(filesContaining(stack.app.home, needle), `${secret} under CASCADE_HOME`).toEqual([]);
      const records = JSON.stringify([await stack.app.store.getBuild(NS, build.id), await stack.app.store.listBuilds({ namespace: NS })]);
      expect(records).not.toContain(secret);
    }
    const delivered = () => ["cascade.build.succeeded", "cascade.image.published"].every((t) => stack.events.events.some((e) => e.type === t && JSON.stringify(e.data).includes(build.id)));
    for (const t = Date.now(); !delivered() && Date.now() - t < 10_000; ) await new Promise((r) => setTimeout(r, 50));
    expect(delivered()).toBe(true);
    const events = JSON.stringify(stack.events.events);
    expect(events).toContain(build.id);
    expect(events).not.toContain(VOLUME_SECRET);
    expect(events).not.toContain(MOUNT_SECRET);
    // The mounts left no file behind in the image: only the empty mount points.
    const ran = runImage({ identity: stack.app.identity, image, command: ["/bin/sh", "-c", "ls -A /opt/maven /etc/settings; ls /run/secrets 2>/dev/null | wc -l"], auth: { [stack.registry]: credentials }, insecure: [stack.registry] });
    expect(ran.stdout.replace(/\s+/g, " ").trim()).toBe("/etc/settings: /opt/maven: 0");
  });

  it("fails with MissingSecret, naming the secret and the field, when a volume's Secret does not exist", async () => {
    const repo = stack.repo("missing", SECRET);
    await stack.apply([config("missing", repo.bare, { volumes: [{ name: "gone", source: { type: "Secret", secret: { secretName: "no-such-secret" } }, mounts: [{ destinationPath: "/gone" }] }] })]);
    commitFiles(repo.work, { Dockerfile: `FROM ${base}\nRUN true\n` }, "missing secret");
    await push(repo.work);
    const b = await stack.latestBuild(NS, "missing");
    expect(b.phase).toBe("Failed");
    expect(b.reason).toBe("MissingSecret");
    expect(b.message).toContain(`secret "${NS}/no-such-secret" (spec.strategy.dockerStrategy.volumes[gone]) not found`);
  });

  it("refuses a Dockerfile that requires a secret id the BuildConfig does not provide, naming the id", async () => {
    const repo = stack.repo("undeclared", SECRET);
    await stack.apply([config("undeclared", repo.bare, {})]);
    commitFiles(repo.work, { Dockerfile: `FROM ${base}\nRUN --mount=type=secret,id=npm,required=true cat /run/secrets/npm\n` }, "undeclared secret");
    await push(repo.work);
    const b = await stack.latestBuild(NS, "undeclared");
    expect(b.phase).toBe("Failed");
    expect(b.reason).toBe("InvalidDockerfile");
    expect(b.message).toContain(`mounts secret id "npm", which spec.strategy.dockerStrategy.buildSecrets does not provide`);
  });
});

describe("private sources", () => {
  const GIT_PASSWORD = "git-password-71c0d9e2aa";
  let stack: Stack;
  let git: GitHttpServer;
  let uri: string;
  let commit: string;

  beforeAll(async () => {
    stack = await startStack();
    const base = await buildBaseImage(stack);
    const root = join(stack.gitRoot, "private");
    const bare = initBareRepo(join(root, "app.git"));
    const work = cloneRepo(bare, join(stack.gitRoot, "work", "private-app"));
    commit = commitFiles(work, { Dockerfile: `FROM ${base}\nRUN echo private > /private\n` }, "private app");
    await push(work);
    git = await startGitHttpServer({ root, username: "builder-bot", password: GIT_PASSWORD });
    uri = `${git.url}/app.git`;
    const now = new Date().toISOString();
    await stack.app.secrets.put({ kind: "Secret", namespace: NS, name: "git-creds", type: "kubernetes.io/basic-auth", data: { username: Buffer.from("builder-bot"), password: Buffer.from(GIT_PASSWORD) } }, now);
    await stack.app.secrets.put({ kind: "Secret", namespace: NS, name: "git-wrong", type: "kubernetes.io/basic-auth", data: { username: Buffer.from("builder-bot"), password: Buffer.from("not-the-password") } }, now);
  }, 240_000);
  afterAll(async () => {
    await git?.close();
    await stack?.close();
  });

  const config = (name: string, sourceSecret?: string) => ({
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name, namespace: NS },
    spec: {
      source: { git: { uri, ref: "main" }, ...(sourceSecret ? { sourceSecret: { name: sourceSecret } } : {}) },
      strategy: { type: "Docker", dockerStrategy: {} },
      output: { to: { kind: "DockerImage", name: `${stack.registry}/${NS}/${name}:latest` } },
    },
  });
  const run = async (name: string) => stack.waitForBuild(NS, (await stack.app.planning.startBuild(NS, name)).id, 180_000);

  it("clones with the sourceSecret's credentials, and keeps them out of the log, the record and CASCADE_HOME", async () => {
    await stack.apply([config("private", "git-creds")]);
    const b = await run("private");
    const log = readFileSync(b.logPath!, "utf8");
    expect(b.phase, `${b.message}\n${log}`).toBe("Complete");
    expect(b.inputs.source?.commit).toBe(commit);
    expect(log).toContain("Source credentials from secret git-creds");
    expect(git.refused).toBeGreaterThan(0); // git asked without credentials first, as it always does
    expect(log).not.toContain(GIT_PASSWORD);
    expect(JSON.stringify(await stack.app.store.getBuild(NS, b.id))).not.toContain(GIT_PASSWORD);
    expect(filesContaining(stack.app.home, Buffer.from(GIT_PASSWORD))).toEqual([]);
    const blobs = await imageBlobs({ registry: stack.registry, credentials: stack.app.registry.credentials }, `${NS}/private`, b.outputs!.digest);
    expect(blobs.filter((x) => x.bytes.includes(Buffer.from(GIT_PASSWORD)))).toEqual([]);
  });

  it("fails with FetchSourceFailed, saying credentials are needed, without a sourceSecret", async () => {
    await stack.apply([config("anonymous")]);
    const b = await run("anonymous");
    expect(b.phase).toBe("Failed");
    expect(b.reason).toBe("FetchSourceFailed");
    expect(b.message).toContain(`cannot fetch main from ${uri}`);
    expect(b.message).toContain("the repository needs credentials: set spec.source.sourceSecret");
  });

  it("fails with FetchSourceFailed, naming the secret, when its credentials are refused", async () => {
    await stack.apply([config("wrong", "git-wrong")]);
    const b = await run("wrong");
    expect(b.phase).toBe("Failed");
    expect(b.reason).toBe("FetchSourceFailed");
    expect(b.message).toContain("the credentials in secret git-wrong were refused");
  });
});
