/**
 * Benchmark: wall time from webhook to pushed digest, through Cascade, against
 * a bare `buildah bud` + `buildah push` of the same commit, in one script.
 *
 * Each round makes a new commit of the demo app, then, alternating which runs
 * first:
 * - cascade: POST a signed GitHub push to /hooks/github and wait for the
 *   build's pushed digest (t1 = the build's completedAt, as recorded);
 * - baseline: as the same unprivileged user, with fresh storage and the same
 *   isolation, `buildah bud` then `buildah push --digestfile` of a checkout of
 *   that commit (clone and storage clean-up not timed).
 * Prints the medians and their ratio.  Usage: node dist/bench/webhook-to-digest.js [ROUNDS]
 */
import { spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { cloneRepo, commitFiles, git, initBareRepo, push } from "../src/adapters/local/git-repo.js";
import { pushPayload } from "../src/adapters/local/git-hook/post-receive.js";
import { authJson } from "../src/builder/containers-config.js";
import { defaultWorkRoot } from "../src/adapters/local/buildah-runner.js";
import { findFreePort } from "../src/adapters/local/registry-process.js";
import { appFiles, BASE_DOCKERFILE, demoConfigs } from "../src/cli/demo.js";
import { hmacSha256Hex } from "../src/core/webhook-signature.js";
import { applyConfigs } from "../src/runtime/configs.js";
import { startLocal } from "../src/runtime/local.js";

const rounds = Number(process.argv[2] ?? 7);
const workRoot = defaultWorkRoot();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const home = mkdtempSync(join(tmpdir(), "cascade-bench-"));
const gitRoot = mkdtempSync(join(tmpdir(), "cascade-bench-git-"));
chmodSync(gitRoot, 0o755);
const app = await startLocal({ home, port: 0, registryPort: await findFreePort(), log: pino({ level: "warn" }) });
const reg = app.registry.hostPort;
const secret = "bench-secret";
const deps = { store: app.store, builds: app.builds, planning: app.planning, clock: { now: () => new Date() } };
const baseBare = initBareRepo(join(gitRoot, "base.git"));
const appBare = initBareRepo(join(gitRoot, "hello.git"));
await applyConfigs(deps, demoConfigs({ registry: reg, baseRepo: baseBare, appRepo: appBare, secret }));

async function waitFor(ns: string, id: string) {
  for (;;) {
    const b = await app.store.getBuild(ns, id);
    if (b && ["Complete", "Failed", "Error", "Cancelled"].includes(b.phase)) return b;
    await new Promise((r) => setTimeout(r, 5));
  }
}

// The base image, built through Cascade once.
const baseWork = cloneRepo(baseBare, join(gitRoot, "work", "base"));
commitFiles(baseWork, { Dockerfile: BASE_DOCKERFILE, busybox: readFileSync("/bin/busybox") }, "base", { busybox: 0o755 });
await push(baseWork);
const baseBuild = await waitFor("demo", (await app.planning.startBuild("demo", "base")).id);
if (baseBuild.phase !== "Complete") throw new Error(`base build failed: ${baseBuild.message}`);

const appWork = cloneRepo(appBare, join(gitRoot, "work", "hello"));
const id = app.identity;
const asBuilder = (cmd: string[], cwd: string) =>
  spawnSync(id.prefix[0] ?? cmd[0]!, [...id.prefix.slice(1), ...(id.prefix.length ? cmd : cmd.slice(1))], { cwd, encoding: "utf8" });

async function viaCascade(before: string, after: string): Promise<number> {
  const body = JSON.stringify(pushPayload(appBare, before, after, "refs/heads/main"));
  const t0 = Date.now();
  const res = await fetch(`${app.url}/hooks/github`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": `bench-${after}`,
      "x-hub-signature-256": `sha256=${hmacSha256Hex(secret, body)}`,
    },
    body,
  });
  const { builds } = (await res.json()) as { builds: { build: string }[] };
  const b = await waitFor("demo", builds[0]!.build);
  if (b.phase !== "Complete") throw new Error(`build ${b.id} ${b.phase}: ${b.message}`);
  if (process.env.BENCH_DEBUG) {
    process.stderr.write(readFileSync(b.logPath!, "utf8").split("\n").filter((l) => l.startsWith("-->")).join("\n") + "\n");
    process.stderr.write(`  queued +${Date.parse(b.createdAt) - t0} started +${Date.parse(b.startedAt!) - t0} done +${Date.parse(b.completedAt!) - t0}\n`);
  }
  return Date.parse(b.completedAt!) - t0;
}

function baseline(commit: string, round: number): number {
  // The same storage medium as Cascade's builder (see defaultWorkRoot).
  const dir = mkdtempSync(join(workRoot, "cascade-bench-bare-"));
  git(gitRoot, ["clone", "--quiet", appBare, join(dir, "src")]);
  git(join(dir, "src"), ["checkout", "--quiet", commit]);
  const auth = join(dir, "auth.json");
  const { username, password } = app.registry.credentials;
  writeFileSync(auth, authJson({ [reg]: { username, password } }), { mode: 0o600 });
  if (id.prefix.length) spawnSync("chown", ["-R", `${id.uid}:${id.gid}`, dir]);
  else chownSync(dir, id.uid, id.gid);
  const flags = ["--root", join(dir, "storage"), "--runroot", join(dir, "runroot"), "--storage-driver", "vfs"];
  const target = `${reg}/demo/hello-baseline:${round}`;
  const t0 = Date.now();
  const bud = asBuilder(
    ["buildah", ...flags, "bud", "--isolation", "chroot", "--tls-verify=false", "--authfile", auth, "--build-arg", "GREETING=Hello from Cascade", "-t", target, join(dir, "src")],
    dir,
  );
  if (bud.status !== 0) throw new Error(`baseline bud failed: ${bud.stderr}`);
  const pushed = asBuilder(["buildah", ...flags, "push", "--tls-verify=false", "--authfile", auth, "--digestfile", join(dir, "digest"), target, `docker://${target}`], dir);
  if (pushed.status !== 0) throw new Error(`baseline push failed: ${pushed.stderr}`);
  const ms = Date.now() - t0;
  asBuilder(["buildah", "unshare", "rm", "-rf", join(dir, "storage"), join(dir, "runroot")], dir);
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const cascadeMs: number[] = [];
const bareMs: number[] = [];
let before = "0000000000000000000000000000000000000000";
for (let i = 0; i < rounds + 1; i++) {
  const commit = commitFiles(appWork, appFiles(reg, `round ${i}`), `round ${i}`);
  await push(appWork);
  // Round 0 warms caches (page cache, first registry writes) and is not counted.
  const order = i % 2 === 0 ? ["cascade", "bare"] : ["bare", "cascade"];
  for (const which of order) {
    const ms = which === "cascade" ? await viaCascade(before, commit) : baseline(commit, i);
    if (i > 0) (which === "cascade" ? cascadeMs : bareMs).push(ms);
  }
  before = commit;
  process.stderr.write(`round ${i}${i === 0 ? " (warm-up)" : ""}: cascade ${cascadeMs.at(-1) ?? "-"} ms, bare ${bareMs.at(-1) ?? "-"} ms\n`);
}
await app.stop();
rmSync(home, { recursive: true, force: true });
rmSync(gitRoot, { recursive: true, force: true });

const mc = median(cascadeMs);
const mb = median(bareMs);
const result = { rounds, workRoot, cascadeMedianMs: mc, bareMedianMs: mb, ratio: Number((mc / mb).toFixed(3)), cascadeMs, bareMs };
process.stdout.write(JSON.stringify(result) + "\n");
