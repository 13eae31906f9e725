/**
 * `cascade demo`: the whole story on this machine, with no internet.
 * 1. start the local stack (registry, store, API, worker) on free ports;
 * 2. register a subscriber that receives and verifies the CloudEvents;
 * 3. build a base image from Debian's busybox-static, through Cascade;
 * 4. create a git repository with an app whose Dockerfile is FROM that base,
 *    apply its BuildConfig, and `git push`: the repository's hook delivers a
 *    signed GitHub push to /hooks/github;
 * 5. follow the build, run the image once rootless;
 * 6. Source-to-Image: build an S2I builder image from the base, then turn an
 *    app's source (no Dockerfile) into an image with it, and run it;
 * 7. push a fix to the base: the base rebuilds, and the app, the S2I builder
 *    and the S2I app follow by their ImageChange triggers, in order;
 *    then print a summary.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { findFreePort } from "../adapters/local/registry-process.js";
import { cloneRepo, commitFiles, initBareRepo, push } from "../adapters/local/git-repo.js";
import { runImage } from "../adapters/local/run-image.js";
import type { Build } from "../core/build.js";
import { CascadeError } from "../core/errors.js";
import { applyConfigs } from "../runtime/configs.js";
import { startLocal, type LocalCascade } from "../runtime/local.js";
import { startEventCollector } from "./event-collector.js";
import { s2iAppFiles, s2iBuilderFiles } from "./s2i-sample.js";
import type { Settings } from "./util.js";

const BUSYBOX = "/bin/busybox";

export function demoConfigs(opts: { registry: string; baseRepo: string; appRepo: string; secret: string; builderRepo?: string; s2iRepo?: string }) {
  return [
    {
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name: "base", namespace: "demo" },
      spec: {
        source: { type: "Git", git: { uri: opts.baseRepo, ref: "main" } },
        strategy: { type: "Docker", dockerStrategy: {} },
        output: { to: { kind: "DockerImage", name: `${opts.registry}/demo/base:latest` } },
        triggers: [{ type: "GitHub", github: { secret: opts.secret } }],
      },
    },
    {
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name: "hello", namespace: "demo" },
      spec: {
        source: { type: "Git", git: { uri: opts.appRepo, ref: "main" } },
        strategy: { type: "Docker", dockerStrategy: { buildArgs: [{ name: "GREETING", value: "Hello from Cascade" }] } },
        output: {
          to: { kind: "DockerImage", name: `${opts.registry}/demo/hello:latest` },
          imageLabels: [{ name: "org.opencontainers.image.title", value: "hello" }],
        },
        // Rebuild when the base (every external FROM of the Dockerfile) gets a new digest.
        triggers: [{ type: "GitHub", github: { secret: opts.secret } }, { type: "ImageChange" }],
      },
    },
    ...(opts.builderRepo && opts.s2iRepo ? s2iDemoConfigs({ ...opts, builderRepo: opts.builderRepo, s2iRepo: opts.s2iRepo }) : []),
  ];
}

/** The S2I builder image (Docker strategy, on the base) and an app built with it (Source strategy, incremental). */
function s2iDemoConfigs(opts: { registry: string; builderRepo: string; s2iRepo: string; secret: string }) {
  return [
    {
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name: "shell-builder", namespace: "demo" },
      spec: {
        source: { type: "Git", git: { uri: opts.builderRepo, ref: "main" } },
        strategy: { type: "Docker", dockerStrategy: {} },
        output: { to: { kind: "DockerImage", name: `${opts.registry}/demo/shell-builder:latest` } },
        triggers: [{ type: "GitHub", github: { secret: opts.secret } }, { type: "ImageChange" }],
      },
    },
    {
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name: "greeter", namespace: "demo" },
      spec: {
        source: { type: "Git", git: { uri: opts.s2iRepo, ref: "main" } },
        strategy: {
          type: "Source",
          sourceStrategy: { from: { kind: "DockerImage", name: `${opts.registry}/demo/shell-builder:latest` }, incremental: true },
        },
        output: { to: { kind: "DockerImage", name: `${opts.registry}/demo/greeter:latest` } },
        // Rebuild when the builder image gets a new digest.
        triggers: [{ type: "GitHub", github: { secret: opts.secret } }, { type: "ImageChange" }],
      },
    },
  ];
}

export const BASE_DOCKERFILE = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/sh"]
`;

export function appFiles(registry: string, message = "hello, world") {
  return {
    Dockerfile: `ARG BASE=${registry}/demo/base:latest
FROM $BASE
ARG GREETING=Hello
COPY hello.sh /app/hello.sh
RUN chmod 0755 /app/hello.sh && echo "$GREETING" > /app/greeting
USER 1001
CMD ["/app/hello.sh"]
`,
    "hello.sh": `#!/bin/sh
echo "$(cat /app/greeting): ${message}"
echo "built from commit $OPENSHIFT_BUILD_COMMIT in namespace $OPENSHIFT_BUILD_NAMESPACE"
`,
  };
}

async function mustComplete(app: LocalCascade, name: string, after: number, progress: (s: string) => void): Promise<Build> {
  const b = await waitForBuild(app, "demo", name, after, progress);
  if (b.phase !== "Complete") {
    progress(readFileSync(b.logPath!, "utf8"));
    throw new CascadeError("DemoFailed", `build ${b.id} ${b.phase}: ${b.message ?? ""}`);
  }
  return b;
}

async function waitForBuild(app: LocalCascade, ns: string, name: string, after: number, progress: (s: string) => void): Promise<Build> {
  const started = Date.now();
  let last = "";
  for (;;) {
    const [b] = await app.store.listBuilds({ namespace: ns, buildConfig: name, limit: 1 });
    if (b && b.number > after) {
      if (b.phase !== last) progress(`  ${b.namespace}/${b.id}: ${b.phase} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
      last = b.phase;
      if (["Complete", "Failed", "Error", "Cancelled"].includes(b.phase)) return b;
    }
    if (Date.now() - started > 300_000) throw new CascadeError("DemoTimeout", `build of ${ns}/${name} did not finish in 5 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runDemo(cfg: Settings): Promise<number> {
  const t0 = Date.now();
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const step = (n: number, s: string) => say(`\n[${n}/7] ${s}  (+${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  if (!existsSync(BUSYBOX)) throw new CascadeError("DemoMissingBusybox", `${BUSYBOX} not found; install Debian's busybox-static`);

  const home = join(cfg.home, "demo");
  rmSync(home, { recursive: true, force: true });
  step(1, "Starting the local stack: SQLite store, Distribution registry, API, rootless builder");
  const log = pino({ level: process.env.CASCADE_LOG_LEVEL ?? "warn", base: undefined }, pino.destination(2));
  const app = await startLocal({ home, port: 0, registryPort: process.env.CASCADE_REGISTRY_PORT ? cfg.registryPort : await findFreePort(), log });
  const collector = await startEventCollector();
  try {
    say(`  API ${app.url}, registry ${app.registry.hostPort} (htpasswd auth), home ${home}`);
    say(`  builds run as "${app.identity.name}" (uid ${app.identity.uid}) with rootless buildah, chroot isolation, fresh storage each`);
    step(2, "Subscribing to Cascade's CloudEvents");
    const subSecret = randomBytes(16).toString("hex");
    await app.store.addSubscriber({ url: collector.url, secret: subSecret, mode: "binary" }, new Date().toISOString());
    collector.secret = subSecret;
    say(`  subscriber ${collector.url} (HMAC-signed, binary mode)`);

    // Git repositories live outside CASCADE_HOME so the unprivileged builder can always read them.
    const gitRoot = mkdtempSync(join(tmpdir(), "cascade-demo-git-"));
    chmodSync(gitRoot, 0o755);
    const secret = randomBytes(16).toString("hex");
    const hookUrl = `${app.url}/hooks/github`;
    const baseBare = initBareRepo(join(gitRoot, "base.git"), { url: hookUrl, secret });
    const appBare = initBareRepo(join(gitRoot, "hello.git"), { url: hookUrl, secret });
    const builderBare = initBareRepo(join(gitRoot, "shell-builder.git"), { url: hookUrl, secret });
    const s2iBare = initBareRepo(join(gitRoot, "greeter.git"), { url: hookUrl, secret });
    const reg = app.registry.hostPort;
    const deps = { store: app.store, builds: app.builds, planning: app.planning, clock: { now: () => new Date() } };
    await applyConfigs(deps, demoConfigs({ registry: reg, baseRepo: baseBare, appRepo: appBare, secret }));

    step(3, "Building the base image from Debian's busybox-static (git push -> webhook -> build)");
    const baseWork = cloneRepo(baseBare, join(gitRoot, "work", "base"));
    commitFiles(baseWork, { Dockerfile: BASE_DOCKERFILE, busybox: readFileSync(BUSYBOX) }, "busybox base image", { busybox: 0o755 });
    await push(baseWork);
    const base = await waitForBuild(app, "demo", "base", 0, say);
    if (base.phase !== "Complete") throw new CascadeError("DemoFailed", `base build ${base.id} ${base.phase}: ${base.message ?? ""}`);
    say(`  pushed ${base.outputs!.image}@${base.outputs!.digest}`);

    step(4, "Pushing the app: a signed GitHub push from the repository's post-receive hook");
    const appWork = cloneRepo(appBare, join(gitRoot, "work", "hello"));
    const commit = commitFiles(appWork, appFiles(reg), "hello app", { "hello.sh": 0o755 });
    const pushedAt = Date.now();
    const hookOutput = await push(appWork);
    for (const l of hookOutput.trim().split("\n").filter(Boolean)) say(`  | ${l.replace(/^remote: /, "")}`);
    say(`  git push ${appBare} main (commit ${commit.slice(0, 12)})`);
    const build = await waitForBuild(app, "demo", "hello", 0, say);
    if (build.phase !== "Complete") {
      say(readFileSync(build.logPath!, "utf8"));
      throw new CascadeError("DemoFailed", `app build ${build.id} ${build.phase}: ${build.message ?? ""}`);
    }
    const webhookToDigestMs = Date.parse(build.completedAt!) - pushedAt;

    step(5, "Running the built image once, rootless");
    const image = `${build.outputs!.image.replace(/:[^:/]+$/, "")}@${build.outputs!.digest}`;
    const ran = runImage({
      identity: app.identity,
      image,
      command: ["/app/hello.sh"],
      auth: { [reg]: app.registry.credentials },
      insecure: [reg],
    });
    for (const l of (ran.stdout + ran.stderr).trim().split("\n")) say(`  | ${l}`);
    await app.bus.kick();
    await collector.waitFor(["cascade.build.succeeded", "cascade.image.published"], 10_000).catch(() => undefined);

    // The registry serves the pushed manifest by digest, to curl, with credentials (nothing is anonymous).
    const { username, password } = app.registry.credentials;
    const manifestUrl = `${app.registry.url}/v2/demo/hello/manifests/${build.outputs!.digest}`;
    const curl = spawnSync(
      "curl",
      ["-sS", "-o", "/dev/null", "-D", "-", "-K", "-", "-H", "Accept: application/vnd.oci.image.manifest.v1+json", manifestUrl],
      { input: `user = "${username}:${password}"\n`, encoding: "utf8" },
    );
    const served = /^docker-content-digest:\s*(\S+)/im.exec(curl.stdout)?.[1];
    const status = /^HTTP\/[\d.]+ (\d+)/m.exec(curl.stdout)?.[1];
    if (status !== "200" || served !== build.outputs!.digest) {
      throw new CascadeError("DemoFailed", `curl ${manifestUrl} answered ${status ?? curl.stderr.trim()} (${served ?? "no digest"})`);
    }

    step(6, "Source-to-Image: an S2I builder image from the base, then an app from source alone (no Dockerfile)");
    // The app's source is pushed first; its BuildConfig follows the builder image, so the
    // builder's first push starts the app's first build (ImageChange).
    const s2iWork = cloneRepo(s2iBare, join(gitRoot, "work", "greeter"));
    commitFiles(s2iWork, s2iAppFiles("hello from source alone"), "greeter app (S2I)");
    await push(s2iWork);
    const all = demoConfigs({ registry: reg, baseRepo: baseBare, appRepo: appBare, secret, builderRepo: builderBare, s2iRepo: s2iBare });
    await applyConfigs(deps, all.slice(2));
    const builderWork = cloneRepo(builderBare, join(gitRoot, "work", "shell-builder"));
    commitFiles(builderWork, s2iBuilderFiles(`${reg}/demo/base:latest`), "S2I builder for shell apps");
    await push(builderWork);
    const builder = await mustComplete(app, "shell-builder", 0, say);
    say(`  builder ${builder.outputs!.image}@${builder.outputs!.digest}`);
    const greeter = await mustComplete(app, "greeter", 0, say);
    say(`  ${greeter.id}: ${greeter.causes[0]?.type}: ${greeter.causes[0]?.message}`);
    const greeterImage = `${reg}/demo/greeter@${greeter.outputs!.digest}`;
    const ranS2I = runImage({ identity: app.identity, image: greeterImage, command: ["/usr/libexec/s2i/run"], auth: { [reg]: app.registry.credentials }, insecure: [reg] });
    for (const l of (ranS2I.stdout + ranS2I.stderr).trim().split("\n")) say(`  | ${l}`);
    if (ranS2I.code !== 0) throw new CascadeError("DemoFailed", `running the S2I image exited ${ranS2I.code}`);

    step(7, "A fix in the base image: the base rebuilds, and everything built on it follows by itself");
    commitFiles(baseWork, { "motd": "patched\n", Dockerfile: `${BASE_DOCKERFILE}COPY motd /etc/motd\n` }, "security fix in the base");
    await push(baseWork);
    const base2 = await mustComplete(app, "base", base.number, say);
    const rebuilt = await mustComplete(app, "hello", build.number, say);
    const builder2 = await mustComplete(app, "shell-builder", builder.number, say);
    const greeter2 = await mustComplete(app, "greeter", greeter.number, say);
    for (const b of [rebuilt, builder2, greeter2]) say(`  ${b.id}: ${b.causes[0]?.type}: ${b.causes[0]?.message}`);
    say(`  ${rebuilt.id} built on ${rebuilt.inputs.bases.map((b) => b.digest).join(", ")} (the new base is ${base2.outputs!.digest})`);
    const restored = readFileSync(greeter2.logPath!, "utf8").split("\n").filter((l) => l.includes("restored ("));
    for (const l of restored) say(`  ${greeter2.id} (incremental) | ${l.trim()}`);
    await app.bus.kick();

    const events = collector.events;
    say("\nSummary");
    say(`  build      ${build.namespace}/${build.id} (${build.phase}, cause ${build.causes[0]?.type}: ${build.causes[0]?.message})`);
    say(`  commit     ${build.inputs.source?.commit}`);
    say(`  base       ${build.inputs.bases.map((b) => `${b.name}@${b.digest}`).join(", ")}`);
    say(`  image      ${image}`);
    say(`  digest     ${build.outputs!.digest}`);
    say(`  duration   build ${((build.durationMs ?? 0) / 1000).toFixed(2)}s, push to digest ${(webhookToDigestMs / 1000).toFixed(2)}s, demo ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    say(`  s2i        ${greeter.id} with ${builder.id}: ${greeterImage} (${((greeter.durationMs ?? 0) / 1000).toFixed(2)}s; incremental rebuild ${((greeter2.durationMs ?? 0) / 1000).toFixed(2)}s)`);
    say(`  chain      base fix ${base2.id} -> ${rebuilt.id}; ${builder2.id} -> ${greeter2.id}`);
    say(`  events     ${events.length} delivered and verified: ${summarize(events.map((e) => e.type))}`);
    say(`  curl       curl -u ${username}:PASSWORD ${manifestUrl}`);
    say(`             -> HTTP ${status}, Docker-Content-Digest: ${served}`);
    say(`             (PASSWORD is in ${join(home, "registry", "credentials.json")}; "cascade registry login" prints it)`);
    if (ran.code !== 0) throw new CascadeError("DemoFailed", `running the image exited ${ran.code}`);
    return 0;
  } finally {
    await collector.close();
    await app.stop();
  }
}

function summarize(types: string[]): string {
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts].map(([t, n]) => `${t.replace("cascade.", "")} x${n}`).join(", ");
}
