/**
 * Benchmark: a multi-stage Dockerfile with two independent stages (each a
 * 3 s `RUN`), built in sequence (`--jobs 1`, buildah's default and what
 * OpenShift's builder does) and in parallel (`--jobs 2`), in one script,
 * with bare buildah in fresh storage each time and no cache, plus the same
 * build through Cascade (which passes `--jobs` = the builder's CPUs; its
 * BuildConfig has `noCache: true`, so nothing comes from a cache). Round 0
 * warms up and is not counted; the order alternates.
 *
 * Usage: node dist/bench/stages.js [ROUNDS]
 */
import { availableParallelism } from "node:os";
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
const bc = (name: string, uri: string, docker: Record<string, unknown> = {}) => ({
  apiVersion: "build.openshift.io/v1",
  kind: "BuildConfig",
  metadata: { name, namespace: NS },
  spec: {
    source: { git: { uri, ref: "main" } },
    strategy: { type: "Docker", dockerStrategy: docker },
    output: { to: { kind: "DockerImage", name: `${reg}/${NS}/${name}:latest` } },
  },
});

try {
  const base = repo("base");
  const src = repo("stages");
  await applyConfigs({ store: app.store, builds: app.builds, planning: app.planning, clock: { now: () => new Date() } }, [
    bc("base", base.bare),
    bc("stages", src.bare, { noCache: true }),
  ]);
  commitFiles(base.work, { Dockerfile: BASE_DOCKERFILE, busybox: readFileSync("/bin/busybox") }, "base", { busybox: 0o755 });
  await push(base.work);
  await build("base");
  const b = `${reg}/${NS}/base:latest`;
  const dockerfile = `FROM ${b} AS one\nRUN sleep 3 && echo one > /one\nFROM ${b} AS two\nRUN sleep 3 && echo two > /two\nFROM ${b}\nCOPY --from=one /one /one\nCOPY --from=two /two /two\n`;
  const commit = commitFiles(src.work, { Dockerfile: dockerfile }, "two independent stages");
  await push(src.work);

  const times: Record<"sequence" | "parallel" | "cascade", number[]> = { sequence: [], parallel: [], cascade: [] };
  for (let i = 0; i <= rounds; i++) {
    const order = (i % 2 === 0 ? ["sequence", "parallel", "cascade"] : ["cascade", "parallel", "sequence"]) as (keyof typeof times)[];
    const ms: Record<string, number> = {};
    for (const which of order) {
      if (which === "cascade") {
        ms.cascade = (await build("stages")).durationMs!;
        continue;
      }
      const s = bare.storage();
      const ctx = bare.checkout(s, src.bare, commit);
      ms[which] = bare.budAndPush(s, ["--jobs", which === "parallel" ? "2" : "1"], ctx, `${reg}/${NS}/${which}:${i}`).ms;
      bare.remove(s);
    }
    process.stderr.write(`round ${i}${i === 0 ? " (warm-up)" : ""}: sequence ${ms.sequence} ms, parallel ${ms.parallel} ms, cascade ${ms.cascade} ms\n`);
    if (i === 0) continue;
    for (const k of Object.keys(times) as (keyof typeof times)[]) times[k].push(ms[k]!);
  }
  const m = { sequence: median(times.sequence), parallel: median(times.parallel), cascade: median(times.cascade) };
  process.stdout.write(
    JSON.stringify(
      {
        rounds,
        cpus: availableParallelism(),
        medianMs: m,
        sequenceOverParallel: Number((m.sequence / m.parallel).toFixed(3)),
        sequenceOverCascade: Number((m.sequence / m.cascade).toFixed(3)),
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
