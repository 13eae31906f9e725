/**
 * BuildTasks on DynamoDB Local (the Store's table, its own key prefixes),
 * and the builder task's entry that uses them: it reads the job from the
 * table, adds ECR credentials, runs a builder program with the real process
 * interface (a stand-in script: buildah does not run in these tests),
 * records its reports as they come, and keeps the deadline and the stop.
 */
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { BuilderJob } from "../../builder/job.js";
import { ConflictError } from "../../core/errors.js";
import { localTable, stopDynamoDbLocal, type LocalTable } from "../../../test/support/dynamodb-local.js";
import { DynamoDbBuildTasks } from "./build-tasks.js";
import { runBuilderTask } from "./builder-task.js";
import { DynamoDbStore } from "./dynamodb-store.js";

const NOW = "2026-11-25T10:00:00.000Z";
const FAKE_BUILDER = fileURLToPath(new URL("../../../test/fixtures/aws/builder/fake-builder.mjs", import.meta.url));
const REGISTRY = "012345678910.dkr.ecr.us-east-1.example.test";
const ref = { namespace: "shop", id: "web-3" };
const job = BuilderJob.parse({
  buildName: "web-3",
  namespace: "shop",
  buildConfig: "web",
  source: { uri: "https://git.example.test/shop/web.git", ref: "main" },
  strategy: { type: "Docker" },
  output: { images: [`${REGISTRY}/shop/web:latest`] },
  cache: { repository: `${REGISTRY}/cascade-cache/shop` },
});

let table: LocalTable;
let tasks: DynamoDbBuildTasks;
let store: DynamoDbStore;
let work: string;

beforeEach(async () => {
  table = await localTable();
  store = new DynamoDbStore({ tableName: table.name, client: table.client });
  tasks = new DynamoDbBuildTasks({ tableName: table.name, doc: store.doc });
  work = mkdtempSync(join(tmpdir(), "cascade-builder-task-"));
});
afterEach(async () => {
  rmSync(work, { recursive: true, force: true });
  await table.drop();
});
afterAll(stopDynamoDbLocal);

describe("DynamoDbBuildTasks", () => {
  it("keeps a build's job, task, cancel request and reports, under TASK# with a TTL", async () => {
    expect(await tasks.get(ref)).toBeUndefined();
    await tasks.putJob(ref, job, 3600, NOW);
    await tasks.setTask(ref, "arn:task/1");
    await tasks.addReport(ref, { type: "source", commit: "abc" });
    await tasks.addReport(ref, { type: "failed", reason: "DockerBuildFailed", message: "no" });
    expect(await tasks.get(ref)).toEqual({
      namespace: "shop",
      id: "web-3",
      job,
      deadlineSeconds: 3600,
      taskArn: "arn:task/1",
      reports: [
        { type: "source", commit: "abc" },
        { type: "failed", reason: "DockerBuildFailed", message: "no" },
      ],
      createdAt: NOW,
    });
    expect((await tasks.requestCancel(ref))?.cancelRequested).toBe(true);
    const raw = (await store.doc.send(new GetCommand({ TableName: table.name, Key: { pk: "TASK#shop/web-3", sk: "TASK" } }))).Item!;
    expect(raw.expiresAt).toBe(Date.parse(NOW) / 1000 + 30 * 86_400);
    // A relaunch starts from a clean record.
    await tasks.putJob(ref, job, 60, NOW);
    expect(await tasks.get(ref)).toMatchObject({ deadlineSeconds: 60, reports: [] });
    expect((await tasks.get(ref))?.taskArn).toBeUndefined();
  });

  it("refuses to report on or start a build it has no record of, naming it", async () => {
    await expect(tasks.addReport({ namespace: "shop", id: "nope-1" }, { type: "source", commit: "x" })).rejects.toThrow(ConflictError);
    await expect(tasks.setTask({ namespace: "shop", id: "nope-1" }, "arn")).rejects.toThrow('build "shop/nope-1" has no task record (record the task)');
    expect(await tasks.requestCancel({ namespace: "shop", id: "nope-1" })).toBeUndefined();
  });

  it("remembers which build pushed a digest, by normalised image", async () => {
    const d = `sha256:${"f".repeat(64)}`;
    await tasks.recordPushed([`${REGISTRY}/shop/web:latest`, `${REGISTRY}/shop/web:1.2`], d, ref, NOW);
    expect(await tasks.pushedBy(`${REGISTRY}/shop/web:1.2`, d)).toBe("shop/web-3");
    expect(await tasks.pushedBy(`${REGISTRY}/shop/web`, d)).toBe("shop/web-3"); // :latest implied
    expect(await tasks.pushedBy(`${REGISTRY}/shop/web:latest`, `sha256:${"e".repeat(64)}`)).toBeUndefined();
  });
});

describe("the builder task's entry", () => {
  const run = (o: Partial<Parameters<typeof runBuilderTask>[0]> = {}) => {
    let log = "";
    const p = runBuilderTask({
      ref,
      tasks,
      registryAuth: async () => ({ [REGISTRY]: { username: "AWS", password: "ecr-token" } }),
      builderBundle: FAKE_BUILDER,
      workDir: work,
      onLog: (s) => (log += s),
      now: () => NOW,
      ...o,
    });
    return p.then((code) => ({ code, log }));
  };

  it("runs the builder on the stored job with ECR credentials added, and records its reports and push", async () => {
    await tasks.putJob(ref, job, 3600, NOW);
    const { code, log } = await run();
    expect(code).toBe(0);
    const given = JSON.parse(readFileSync(join(work, "job.json"), "utf8"));
    expect(given.registryAuth).toEqual({ [REGISTRY]: { username: "AWS", password: "ecr-token" } });
    expect(given.output).toEqual(job.output);
    expect(log).toContain("--> fake builder for shop/web-3 (push)");
    expect(log).toContain("cascade: unreadable builder report: not json");
    // The credentials stay out of the table.
    const record = await tasks.get(ref);
    expect(JSON.stringify(record)).not.toContain("ecr-token");
    expect(record?.reports.map((r) => r.type)).toEqual(["source", "bases", "pushed"]);
    const digest = `sha256:${"f".repeat(64)}`;
    expect(await tasks.pushedBy(`${REGISTRY}/shop/web:latest`, digest)).toBe("shop/web-3");
    expect(await tasks.pushedBy(`${REGISTRY}/shop/web:extra`, digest)).toBe("shop/web-3");
  });

  it("passes the builder's failure and exit code through", async () => {
    await tasks.putJob(ref, job, 3600, NOW);
    process.env.FAKE_BUILDER = "fail";
    try {
      expect((await run()).code).toBe(1);
    } finally {
      delete process.env.FAKE_BUILDER;
    }
    expect((await tasks.get(ref))?.reports).toEqual([{ type: "failed", reason: "DockerBuildFailed", message: "RUN make: exit status 2" }]);
  });

  it("stops the builder at the deadline and reports DeadlineExceeded", async () => {
    await tasks.putJob(ref, job, 3600, NOW);
    process.env.FAKE_BUILDER = "hang";
    try {
      const { code, log } = await run({ deadlineSeconds: 1 });
      expect(code).toBe(1);
      expect(log).toContain("the build ran longer than 1s");
    } finally {
      delete process.env.FAKE_BUILDER;
    }
    expect(readFileSync(join(work, "signal"), "utf8")).toBe("terminated");
    expect((await tasks.get(ref))?.reports).toEqual([{ type: "failed", reason: "DeadlineExceeded", message: "The build ran longer than 1s" }]);
  });

  it("passes ECS's stop on to the builder", async () => {
    await tasks.putJob(ref, job, 3600, NOW);
    process.env.FAKE_BUILDER = "hang";
    const stop = new AbortController();
    try {
      const running = run({ signal: stop.signal });
      await new Promise((r) => setTimeout(r, 500));
      stop.abort();
      expect((await running).code).toBe(143);
    } finally {
      delete process.env.FAKE_BUILDER;
    }
    expect(readFileSync(join(work, "signal"), "utf8")).toBe("terminated");
    expect((await tasks.get(ref))?.reports).toEqual([]);
  });

  it("exits 2 when the table has no job for the build", async () => {
    const { code, log } = await run();
    expect(code).toBe(2);
    expect(log).toContain("no job stored for build shop/web-3");
  });
});
