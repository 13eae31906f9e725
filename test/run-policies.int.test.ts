/**
 * Run policies and coalescing on real parts: a burst of pushes to one branch
 * gives at most two builds under Serial (the rest join the queued one, which
 * builds the newest commit), and SerialLatestOnly keeps exactly one build
 * queued, cancelling the ones it supersedes.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commitFiles, git, push } from "../src/adapters/local/git-repo.js";
import { pushPayload } from "../src/adapters/local/git-hook/post-receive.js";
import type { Build } from "../src/core/build.js";
import { buildBaseImage, startStack, type Stack } from "./support/stack.js";

const SECRET = "policy-secret";

describe("run policies", () => {
  let stack: Stack;
  let base: string;
  let repo: { bare: string; work: string };

  const bc = (name: string, runPolicy: string) => ({
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name, namespace: "pol" },
    spec: {
      runPolicy,
      source: { git: { uri: repo.bare, ref: "main" } },
      strategy: { type: "Docker" },
      output: { to: { kind: "DockerImage", name: `${stack.registry}/pol/${name}:latest` } },
      triggers: [{ type: "GitHub", github: { secret: SECRET } }],
    },
  });

  beforeAll(async () => {
    stack = await startStack();
    base = await buildBaseImage(stack);
    repo = stack.repo("policy-src", SECRET);
    git(repo.bare, ["config", "cascade.hookurl", "http://127.0.0.1:9/unused"]); // the test posts the pushes itself
    commitFiles(repo.work, { Dockerfile: `FROM ${base}\nCOPY n /n\nRUN sleep 1\n`, n: "0" }, "start");
    await push(repo.work);
  });
  afterAll(async () => {
    await stack?.close();
  });

  const builds = async (name: string) => (await stack.app.store.listBuilds({ namespace: "pol", buildConfig: name })).reverse();
  const done = (bs: Build[]) => bs.length > 0 && bs.every((b) => ["Complete", "Failed", "Error", "Cancelled"].includes(b.phase));

  /** Ten commits pushed, then their ten webhook deliveries posted within a second, in order. */
  async function burst(n: number): Promise<{ commits: string[]; ms: number }> {
    const commits: string[] = [];
    const pairs: [string, string][] = [];
    for (let i = 1; i <= n; i++) {
      const before = git(repo.work, ["rev-parse", "HEAD"]);
      commits.push(commitFiles(repo.work, { n: String(i) }, `change ${i}`));
      pairs.push([before, commits.at(-1)!]);
    }
    await push(repo.work);
    const payloads = pairs.map(([before, after]) => pushPayload(repo.bare, before, after, "refs/heads/main"));
    const t = Date.now();
    for (const p of payloads) {
      const r = await stack.postGitHub("push", p, { secret: SECRET, delivery: randomUUID() });
      expect(r.status).toBe(202);
    }
    return { commits, ms: Date.now() - t };
  }

  it("coalesces ten pushes within a second into at most two Serial builds, the last building the newest commit", async () => {
    await stack.apply([bc("serial", "Serial")]);
    const { commits, ms } = await burst(10);
    expect(ms).toBeLessThan(1000);
    for (let i = 0; i < 600 && !done(await builds("serial")); i++) await new Promise((r) => setTimeout(r, 100));
    const bs = await builds("serial");
    expect(bs.length).toBeGreaterThanOrEqual(1);
    expect(bs.length).toBeLessThanOrEqual(2);
    expect(bs.every((b) => b.phase === "Complete")).toBe(true);
    expect(bs.at(-1)!.inputs.source?.commit).toBe(commits.at(-1));
    expect(bs.flatMap((b) => b.causes).length).toBe(10);
  });

  it("keeps exactly one build queued under SerialLatestOnly, cancelling superseded ones", async () => {
    await stack.apply([bc("latest", "SerialLatestOnly")]);
    const first = await stack.app.planning.startBuild("pol", "latest");
    for (let i = 0; i < 100 && (await stack.app.store.getBuild("pol", first.id))?.phase !== "Running"; i++) await new Promise((r) => setTimeout(r, 20));
    const queuedCounts: number[] = [];
    for (let i = 0; i < 4; i++) {
      await stack.app.planning.startBuild("pol", "latest");
      queuedCounts.push((await builds("latest")).filter((b) => b.phase === "New" || b.phase === "Pending").length);
    }
    expect(queuedCounts).toEqual([1, 1, 1, 1]);
    for (let i = 0; i < 600 && !done(await builds("latest")); i++) await new Promise((r) => setTimeout(r, 100));
    const bs = await builds("latest");
    expect(bs.map((b) => b.phase)).toEqual(["Complete", "Cancelled", "Cancelled", "Cancelled", "Complete"]);
    expect(bs[1]!.message).toBe(`superseded by latest-3 (runPolicy SerialLatestOnly)`);
  });
});
