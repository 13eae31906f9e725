/**
 * Test harness for end-to-end tests on real parts: a local Cascade (SQLite,
 * Distribution registry, rootless buildah builder, HTTP API) in a temporary
 * home on free ports, plus git repositories and a CloudEvents subscriber.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { findFreePort } from "../../src/adapters/local/registry-process.js";
import { cloneRepo, commitFiles, initBareRepo, push } from "../../src/adapters/local/git-repo.js";
import { startEventCollector, type EventCollector } from "../../src/cli/event-collector.js";
import { BASE_DOCKERFILE } from "../../src/cli/demo.js";
import type { Build } from "../../src/core/build.js";
import { hmacSha256Hex } from "../../src/core/webhook-signature.js";
import { applyConfigs } from "../../src/runtime/configs.js";
import { startLocal, type LocalCascade } from "../../src/runtime/local.js";

export interface Stack {
  app: LocalCascade;
  events: EventCollector;
  gitRoot: string;
  registry: string;
  builderStarts: { pid: number; workDir: string }[];
  onBuilderStart?: (pid: number, workDir: string) => void;
  apply(configs: unknown[]): Promise<void>;
  /** A bare repository with a GitHub-push hook to this Cascade, and a working clone. */
  repo(name: string, secret: string): { bare: string; work: string };
  waitForBuild(ns: string, id: string, timeoutMs?: number): Promise<Build>;
  /** The newest build of a BuildConfig numbered above `after`, once it has finished (waits up to 30 s for it to be queued). */
  latestBuild(ns: string, name: string, after?: number): Promise<Build>;
  postGitHub(event: string, body: unknown, opts: { secret?: string; delivery?: string; signature?: string }): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const home = mkdtempSync(join(tmpdir(), "cascade-test-home-"));
  const gitRoot = mkdtempSync(join(tmpdir(), "cascade-test-git-"));
  chmodSync(gitRoot, 0o755);
  const builderStarts: { pid: number; workDir: string }[] = [];
  const stack = {} as Stack;
  const app = await startLocal({
    home,
    port: 0,
    registryPort: await findFreePort(),
    log: pino({ level: process.env.CASCADE_TEST_LOG ?? "silent" }),
    onBuilderStart: (pid, workDir) => {
      builderStarts.push({ pid, workDir });
      stack.onBuilderStart?.(pid, workDir);
    },
  });
  const events = await startEventCollector();
  const deps = { store: app.store, builds: app.builds, planning: app.planning, clock: { now: () => new Date() } };
  Object.assign(stack, {
    app,
    events,
    gitRoot,
    registry: app.registry.hostPort,
    builderStarts,
    async apply(configs: unknown[]) {
      await applyConfigs(deps, configs);
    },
    repo(name: string, secret: string) {
      const bare = initBareRepo(join(gitRoot, `${name}.git`), { url: `${app.url}/hooks/github`, secret });
      const work = cloneRepo(bare, join(gitRoot, "work", name));
      return { bare, work };
    },
    async waitForBuild(ns: string, id: string, timeoutMs = 120_000) {
      const t = Date.now();
      for (;;) {
        const b = await app.store.getBuild(ns, id);
        if (b && ["Complete", "Failed", "Error", "Cancelled"].includes(b.phase)) return b;
        if (Date.now() - t > timeoutMs) throw new Error(`build ${ns}/${id} not finished after ${timeoutMs}ms (phase ${b?.phase})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async latestBuild(ns: string, name: string, after = 0) {
      const t = Date.now();
      for (;;) {
        const [b] = await app.store.listBuilds({ namespace: ns, buildConfig: name, limit: 1 });
        if (b && b.number > after) return stack.waitForBuild(ns, b.id, 180_000);
        if (Date.now() - t > 30_000) throw new Error(`no build of ${ns}/${name} after #${after}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async postGitHub(event: string, body: unknown, opts: { secret?: string; delivery?: string; signature?: string }) {
      const text = JSON.stringify(body);
      const headers: Record<string, string> = { "content-type": "application/json", "x-github-event": event };
      if (opts.delivery) headers["x-github-delivery"] = opts.delivery;
      if (opts.signature) headers["x-hub-signature-256"] = opts.signature;
      else if (opts.secret) headers["x-hub-signature-256"] = `sha256=${hmacSha256Hex(opts.secret, text)}`;
      const res = await fetch(`${app.url}/hooks/github`, { method: "POST", headers, body: text });
      return { status: res.status, body: await res.json() };
    },
    async close() {
      await events.close();
      await app.stop();
      rmSync(home, { recursive: true, force: true });
      rmSync(gitRoot, { recursive: true, force: true });
    },
  });
  return stack;
}

/** Build a busybox base image through Cascade itself and return its image reference. */
export async function buildBaseImage(stack: Stack, secret = "base-secret"): Promise<string> {
  const image = `${stack.registry}/test/base:latest`;
  const { bare, work } = stack.repo("base", secret);
  await stack.apply([
    {
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name: "base", namespace: "test" },
      spec: {
        source: { git: { uri: bare, ref: "main" } },
        strategy: { type: "Docker", dockerStrategy: {} },
        output: { to: { kind: "DockerImage", name: image } },
        triggers: [{ type: "GitHub", github: { secret } }],
      },
    },
  ]);
  commitFiles(work, { Dockerfile: BASE_DOCKERFILE, busybox: readFileSync("/bin/busybox") }, "base", { busybox: 0o755 });
  await push(work);
  const [b] = await stack.app.store.listBuilds({ namespace: "test", buildConfig: "base", limit: 1 });
  if (!b) throw new Error("the base push queued no build");
  const done = await stack.waitForBuild("test", b.id);
  if (done.phase !== "Complete") throw new Error(`base build ${done.phase}: ${done.message}`);
  return image;
}

/** Every process in the tree under `root`, with its real uid, read from /proc. */
export function processTree(root: number): { pid: number; uid: number; cmd: string }[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(d), ppid);
    } catch {
      /* exited */
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, n = 0; p && n < 64; p = parent.get(p), n++) if (p === root) return true;
    return false;
  };
  const out: { pid: number; uid: number; cmd: string }[] = [];
  for (const pid of parent.keys()) {
    if (!inTree(pid)) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, 3).join(" ");
      out.push({ pid, uid, cmd });
    } catch {
      /* exited */
    }
  }
  return out;
}
