/**
 * Benchmark: a source-only rebuild, in one script, three ways.
 * - cold: fresh storage and no cache, as every OpenShift 4 build runs:
 *   bare `buildah bud` + `push` (the slow step runs again);
 * - cascade: through Cascade (`start-build`, the build's own time: fetch,
 *   base pinning, `buildah bud` in fresh storage with `--layers` and the
 *   namespace's registry cache, push);
 * - floor: bare `buildah bud --layers` + `push` on warm local storage that
 *   built the previous commit (the best a single machine can do);
 * - bare-cache: bare `buildah bud` with the same cache flags as Cascade's
 *   builder (`--layers --cache-from R --cache-to R`, R a repository of its
 *   own) in fresh storage: the registry cache without Cascade around it, to
 *   separate what the mechanism costs from what Cascade adds.
 * The Dockerfile has a slow dependency step (`RUN sleep 4`) and then a
 * source `COPY`; each round commits a change to the source only. Round 0
 * fills the caches and is not counted; the order of the three alternates.
 *
 * Usage: node dist/bench/cache.js [ROUNDS]
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { cloneRepo, commitFiles, initBareRepo, push } from "../src/adapters/local/git-repo.js";
import { findFreePort } from "../src/adapters/local/registry-process.js";
import { BASE_DOCKERFILE } from "../src/cli/demo.js";
import type { Build } from "../src/core/build.js";
import { applyConfigs } from "../src/runtime/configs.js";
import { startLocal } from "../src/runtime/local.js";
import { BareBuildah, median } from "./bare-buildah.js";

const rounds = Number(process.argv[2] ?? 5);
const NS = "bench";
const home = mkdtempSync(join(tmpdir(), "cascade-bench-"));
const gitRoot = mkdtempSync(join(tmpdir(), "cascade-bench-git-"));
chmodSync(gitRoot, 0o755);
const app = await startLocal({ home, port: 0, registryPort: await findFreePort(), log: pino({ level: "warn" }) });
const reg = app.registry.hostPort;
const bare = new BareBuildah(app.identity, reg, app.registry.credentials);

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

const repo = (name: string) => {
  const b = initBareRepo(join(gitRoot, `${name}.git`));
  return { bare: b, work: cloneRepo(b, join(gitRoot, "work", name)) };
};
const bc = (name: string, uri: string) => ({
  apiVersion: "build.openshift.io/v1",
  kind: "BuildConfig",
  metadata: { name, namespace: NS },
  spec: {
    source: { git: { uri, ref: "main" } },
    strategy: { type: "Docker", dockerStrategy: {} },
    output: { to: { kind: "DockerImage", name: `${reg}/${NS}/${name}:latest` } },
  },
});

try {
  const base = repo("base");
  const src = repo("app");
  await applyConfigs({ store: app.store, builds: app.builds, planning: app.planning, clock: { now: () => new Date() } }, [bc("base", base.bare), bc("app", src.bare)]);
  commitFiles(base.work, { Dockerfile: BASE_DOCKERFILE, busybox: readFileSync("/bin/busybox") }, "base", { busybox: 0o755 });
  await push(base.work);
  await build("base");
  const dockerfile = `FROM ${reg}/${NS}/base:latest\nRUN sleep 4 && echo dependencies > /deps\nCOPY src/ /app/\nCMD ["cat", "/app/main.txt"]\n`;

  const warm = bare.storage();
  const times: Record<"cold" | "cascade" | "floor" | "bareCache", number[]> = { cold: [], cascade: [], floor: [], bareCache: [] };
  const bareRepo = `${reg}/cascade-cache/bench-bare`;
  let cacheLine = "";
  for (let i = 0; i <= rounds; i++) {
    const commit = commitFiles(src.work, { Dockerfile: dockerfile, "src/main.txt": `version ${i}\n` }, `round ${i}`);
    await push(src.work);
    const order: (keyof typeof times)[] = [
      ["cold", "cascade", "floor", "bareCache"],
      ["floor", "bareCache", "cold", "cascade"],
      ["bareCache", "cascade", "floor", "cold"],
      ["cascade", "cold", "bareCache", "floor"],
    ][i % 4] as (keyof typeof times)[];
    const ms: Record<string, number> = {};
    for (const which of order) {
      if (which === "cascade") {
        const b = await build("app");
        ms.cascade = b.durationMs!;
        cacheLine = `${b.cache?.steps.filter((s) => s.cached).length}/${b.cache?.steps.length} steps from the cache`;
        if (process.env.BENCH_DEBUG) process.stderr.write(readFileSync(b.logPath!, "utf8"));
      } else if (which === "floor") {
        const ctx = bare.checkout(warm, src.bare, commit);
        ms.floor = bare.budAndPush(warm, ["--layers"], ctx, `${reg}/${NS}/floor:${i}`).ms;
      } else if (which === "bareCache") {
        const fresh = bare.storage();
        const ctx = bare.checkout(fresh, src.bare, commit);
        ms.bareCache = bare.budAndPush(fresh, ["--layers", "--cache-from", bareRepo, "--cache-to", bareRepo], ctx, `${reg}/${NS}/bare-cache:${i}`).ms;
        bare.remove(fresh);
      } else {
        const cold = bare.storage();
        const ctx = bare.checkout(cold, src.bare, commit);
        ms.cold = bare.budAndPush(cold, [], ctx, `${reg}/${NS}/cold:${i}`).ms;
        bare.remove(cold);
      }
    }
    process.stderr.write(
      `round ${i}${i === 0 ? " (warm-up)" : ""}: cold ${ms.cold} ms, cascade ${ms.cascade} ms (${cacheLine}), floor ${ms.floor} ms, bare-cache ${ms.bareCache} ms\n`,
    );
    if (i === 0) continue;
    for (const k of Object.keys(times) as (keyof typeof times)[]) times[k].push(ms[k]!);
  }
  bare.remove(warm);
  const m = { cold: median(times.cold), cascade: median(times.cascade), floor: median(times.floor), bareCache: median(times.bareCache) };
  process.stdout.write(
    JSON.stringify(
      {
        rounds,
        workRoot: bare.workRoot,
        medianMs: m,
        cascadeOverFloor: Number((m.cascade / m.floor).toFixed(3)),
        coldOverCascade: Number((m.cold / m.cascade).toFixed(3)),
        bareCacheOverFloor: Number((m.bareCache / m.floor).toFixed(3)),
        cascadeOverBareCache: Number((m.cascade / m.bareCache).toFixed(3)),
        runsMs: times,
      },
      null,
      2,
    ) + "\n",
  );
} finally {
  await app.stop();
  rmSync(home, { recursive: true, force: true });
  rmSync(gitRoot, { recursive: true, force: true });
}
