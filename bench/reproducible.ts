/**
 * Reproducibility: ten builds of one commit through Cascade give one digest.
 * The image's created time and its files' timestamps come from the commit
 * (SOURCE_DATE_EPOCH, buildah `--timestamp`), its base is pinned by digest,
 * and nothing in it names the build. Two BuildConfigs build the same commit:
 * `cached` (the namespace's layer cache on) and `fresh` (`noCache: true`,
 * every step runs again in fresh storage). Each is started ten times; the
 * script prints the distinct digests and whether every build after the
 * first was recorded as an unchanged output.
 *
 * Usage: node dist/bench/reproducible.js [BUILDS]
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { cloneRepo, commitFiles, initBareRepo, push } from "../src/adapters/local/git-repo.js";
import { findFreePort } from "../src/adapters/local/registry-process.js";
import { appFiles, BASE_DOCKERFILE } from "../src/cli/demo.js";
import type { Build } from "../src/core/build.js";
import { applyConfigs } from "../src/runtime/configs.js";
import { startLocal } from "../src/runtime/local.js";

const count = Number(process.argv[2] ?? 10);
const NS = "demo"; // appFiles builds FROM <registry>/demo/base:latest
const home = mkdtempSync(join(tmpdir(), "cascade-bench-"));
const gitRoot = mkdtempSync(join(tmpdir(), "cascade-bench-git-"));
chmodSync(gitRoot, 0o755);
const app = await startLocal({ home, port: 0, registryPort: await findFreePort(), log: pino({ level: "warn" }) });
const reg = app.registry.hostPort;

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
  const src = repo("app");
  await applyConfigs({ store: app.store, builds: app.builds, planning: app.planning, clock: { now: () => new Date() } }, [
    bc("base", base.bare),
    bc("cached", src.bare),
    bc("fresh", src.bare, { noCache: true }),
  ]);
  commitFiles(base.work, { Dockerfile: BASE_DOCKERFILE, busybox: readFileSync("/bin/busybox") }, "base", { busybox: 0o755 });
  await push(base.work);
  await build("base");
  const commit = commitFiles(src.work, appFiles(reg, "reproducible"), "one commit", { "hello.sh": 0o755 });
  await push(src.work);
  const result: Record<string, unknown> = { builds: count, commit };
  for (const name of ["cached", "fresh"]) {
    const digests: string[] = [];
    const unchanged: boolean[] = [];
    for (let i = 0; i < count; i++) {
      const b = await build(name);
      digests.push(b.outputs!.digest);
      unchanged.push(b.outputs!.unchanged === true);
      process.stderr.write(`${name} ${i + 1}: ${b.outputs!.digest} (${b.durationMs} ms${b.outputs!.unchanged ? ", unchanged" : ""})\n`);
    }
    result[name] = { distinctDigests: [...new Set(digests)], laterBuildsUnchanged: unchanged.slice(1).every(Boolean) };
  }
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
} finally {
  await app.stop();
  rmSync(home, { recursive: true, force: true });
  rmSync(gitRoot, { recursive: true, force: true });
}
