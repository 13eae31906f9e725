/**
 * Benchmark: an S2I build against an incremental S2I build of the same
 * commit, in one script, through Cascade on real parts (rootless buildah,
 * fresh storage per build, the local registry).
 *
 * The builder is the sample shell builder (`src/cli/s2i-sample.ts`), whose
 * `assemble` spends 2 s per dependency in `deps.txt` unless the artifacts an
 * earlier build saved restore it. The app lists two dependencies. Two
 * BuildConfigs build the same repository with that builder: `full`
 * (`incremental: false`, what every build costs without saved artifacts) and
 * `incr` (`incremental: true`: its previous image is a stage whose
 * `save-artifacts` output is restored before `assemble`). Each round commits
 * a change to the app, then builds both, alternating which goes first; the
 * time is the build's own, from Running to Complete (fetch, generate,
 * `buildah bud`, push). Round 0 warms up and gives `incr` its first image; it
 * is not counted.
 *
 * Usage: node dist/bench/s2i-incremental.js [ROUNDS]
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { cloneRepo, commitFiles, initBareRepo, push } from "../src/adapters/local/git-repo.js";
import { findFreePort } from "../src/adapters/local/registry-process.js";
import { BASE_DOCKERFILE } from "../src/cli/demo.js";
import { s2iAppFiles, s2iBuilderFiles } from "../src/cli/s2i-sample.js";
import type { Build } from "../src/core/build.js";
import { applyConfigs } from "../src/runtime/configs.js";
import { startLocal } from "../src/runtime/local.js";

const rounds = Number(process.argv[2] ?? 5);
const NS = "bench";
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const home = mkdtempSync(join(tmpdir(), "cascade-bench-"));
const gitRoot = mkdtempSync(join(tmpdir(), "cascade-bench-git-"));
chmodSync(gitRoot, 0o755);
const app = await startLocal({ home, port: 0, registryPort: await findFreePort(), log: pino({ level: "warn" }) });
const reg = app.registry.hostPort;
const deps = { store: app.store, builds: app.builds, planning: app.planning, clock: { now: () => new Date() } };

const repo = (name: string) => {
  const bare = initBareRepo(join(gitRoot, `${name}.git`));
  return { bare, work: cloneRepo(bare, join(gitRoot, "work", name)) };
};
const bc = (name: string, uri: string, strategy: unknown) => ({
  apiVersion: "build.openshift.io/v1",
  kind: "BuildConfig",
  metadata: { name, namespace: NS },
  spec: { source: { git: { uri, ref: "main" } }, strategy, output: { to: { kind: "DockerImage", name: `${reg}/${NS}/${name}:latest` } }, triggers: [] },
});
async function build(name: string): Promise<Build> {
  const started = await app.planning.startBuild(NS, name);
  for (;;) {
    const b = await app.store.getBuild(NS, started.id);
    if (b && ["Complete", "Failed", "Error", "Cancelled"].includes(b.phase)) {
      if (b.phase !== "Complete") throw new Error(`${b.id} ${b.phase}: ${b.message}\n${readFileSync(b.logPath!, "utf8")}`);
      return b;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

try {
  const base = repo("base");
  const builder = repo("builder");
  const src = repo("app");
  const s2i = (incremental: boolean) => ({
    type: "Source",
    sourceStrategy: { from: { kind: "DockerImage", name: `${reg}/${NS}/builder:latest` }, incremental },
  });
  await applyConfigs(deps, [
    bc("base", base.bare, { type: "Docker", dockerStrategy: {} }),
    bc("builder", builder.bare, { type: "Docker", dockerStrategy: {} }),
    bc("full", src.bare, s2i(false)),
    bc("incr", src.bare, s2i(true)),
  ]);
  commitFiles(base.work, { Dockerfile: BASE_DOCKERFILE, busybox: readFileSync("/bin/busybox") }, "base", { busybox: 0o755 });
  await push(base.work);
  await build("base");
  commitFiles(builder.work, s2iBuilderFiles(`${reg}/${NS}/base:latest`), "builder");
  await push(builder.work);
  await build("builder");

  const full: number[] = [];
  const incr: number[] = [];
  for (let i = 0; i <= rounds; i++) {
    commitFiles(src.work, { ...s2iAppFiles(`round ${i}`), "deps.txt": "libgreeting\nlibformat\n" }, `round ${i}`);
    await push(src.work);
    const order = i % 2 === 0 ? ["full", "incr"] : ["incr", "full"];
    const ms: Record<string, number> = {};
    for (const name of order) {
      const b = await build(name);
      ms[name] = b.durationMs ?? NaN;
      if (process.env.BENCH_DEBUG) process.stderr.write(readFileSync(b.logPath!, "utf8"));
    }
    process.stderr.write(`round ${i}${i === 0 ? " (warm-up)" : ""}: full ${ms.full} ms, incremental ${ms.incr} ms\n`);
    if (i === 0) continue;
    full.push(ms.full!);
    incr.push(ms.incr!);
  }
  const result = {
    rounds,
    fullMs: full,
    incrementalMs: incr,
    medianFullMs: median(full),
    medianIncrementalMs: median(incr),
    ratio: Number((median(incr) / median(full)).toFixed(3)),
  };
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
} finally {
  await app.stop();
  rmSync(home, { recursive: true, force: true });
  rmSync(gitRoot, { recursive: true, force: true });
}
