/**
 * The ECS runner against a fake ECS client: the RunTask input it sends (per-
 * build overrides, idempotency token, network), the Fargate size it picks
 * from `spec.resources`, and how RunTask failures and exceptions become
 * Cascade errors. Response shapes follow the ECS API Reference (RunTask).
 */
import { describe, expect, it } from "vitest";
import type { Build } from "../../core/build.js";
import { checkBuildConfig, type BuildConfig } from "../../core/buildconfig.js";
import { CascadeError, NotFoundError, ValidationError } from "../../core/errors.js";
import { fakeClient, rejection, sdkError } from "../../../test/support/aws-fakes.js";
import { BUILD_ENV, DEADLINE_ENV, EcsRunner, fargateSize, isCapacityFailure, STARTED_BY } from "./ecs-runner.js";

const TASK_ARN = "arn:aws:ecs:us-west-2:111122223333:task/builders/0123456789abcdef0123456789abcdef";

function config(resources?: unknown): BuildConfig {
  const r = checkBuildConfig({
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name: "web", namespace: "shop" },
    spec: {
      source: { git: { uri: "https://git.example.test/shop/web.git" } },
      strategy: { type: "Docker", dockerStrategy: {} },
      output: { to: { kind: "DockerImage", name: "registry.example.test/shop/web:latest" } },
      ...(resources ? { resources } : {}),
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

const build = { namespace: "shop", id: "web-3", buildConfig: "web" } as Build;

function runner(client = fakeClient(), capacityProvider?: "FARGATE" | "FARGATE_SPOT") {
  return new EcsRunner({
    client,
    cluster: "builders",
    taskDefinition: "arn:aws:ecs:us-west-2:111122223333:task-definition/cascade-dev-builder:4",
    container: "builder",
    subnets: ["subnet-a", "subnet-b"],
    securityGroups: ["sg-1"],
    assignPublicIp: false,
    ...(capacityProvider ? { capacityProvider } : {}),
  });
}

describe("fargateSize", () => {
  it.each([
    [undefined, undefined],
    [{ limits: { cpu: "500m", memory: "1Gi" } }, { cpu: 512, memory: 1024 }],
    [{ requests: { cpu: "250m" } }, { cpu: 256, memory: 512 }],
    [{ limits: { cpu: "1", memory: "600Mi" } }, { cpu: 1024, memory: 2048 }],
    [{ limits: { cpu: 2, memory: "5Gi" } }, { cpu: 2048, memory: 5120 }],
    [{ limits: { memory: "3Gi" } }, { cpu: 512, memory: 3072 }],
    [{ limits: { cpu: "6", memory: "20Gi" } }, { cpu: 8192, memory: 20480 }],
    [{ limits: { cpu: "8", memory: "17Gi" } }, { cpu: 8192, memory: 20480 }],
    [{ limits: { cpu: "16", memory: "33Gi" } }, { cpu: 16384, memory: 40960 }],
  ])("%j -> %j", (resources, size) => {
    expect(fargateSize(config(resources))).toEqual(size);
  });

  it("refuses what no Fargate task holds, and bad quantities, naming them", () => {
    expect(() => fargateSize(config({ limits: { cpu: "32" } }))).toThrow(/larger than any Fargate task/);
    expect(() => fargateSize(config({ limits: { memory: "lots" } }))).toThrow(ValidationError);
    expect(() => fargateSize(config({ limits: { memory: "lots" } }))).toThrow(/spec.resources memory "lots"/);
  });
});

describe("EcsRunner", () => {
  it("runs the task definition with the build's overrides and an idempotency token", async () => {
    const ecs = fakeClient({ RunTaskCommand: () => ({ tasks: [{ taskArn: TASK_ARN }], failures: [] }) });
    const res = await runner(ecs).start(build, config({ limits: { cpu: "2", memory: "8Gi" } }), 3600);
    expect(res).toEqual({ taskArn: TASK_ARN });
    const [input] = ecs.inputs("RunTaskCommand");
    expect(input).toMatchObject({
      cluster: "builders",
      count: 1,
      launchType: "FARGATE",
      startedBy: STARTED_BY,
      networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-a", "subnet-b"], securityGroups: ["sg-1"], assignPublicIp: "DISABLED" } },
      overrides: {
        cpu: "2048",
        memory: "8192",
        containerOverrides: [
          {
            name: "builder",
            environment: [
              { name: BUILD_ENV, value: "shop/web-3" },
              { name: DEADLINE_ENV, value: "3600" },
            ],
          },
        ],
      },
    });
    expect(input.clientToken).toBe(EcsRunner.clientToken(build));
    expect(input.clientToken).toMatch(/^[0-9a-f]{64}$/);
    expect(EcsRunner.clientToken({ namespace: "shop", id: "web-4" })).not.toBe(input.clientToken);
    // No job, no credential in the overrides: only the build's reference and deadline.
    expect(JSON.stringify(input.overrides)).not.toMatch(/git\.example|registry/);
  });

  it("uses a Spot capacity provider strategy instead of a launch type when asked", async () => {
    const ecs = fakeClient({ RunTaskCommand: () => ({ tasks: [{ taskArn: TASK_ARN }] }) });
    await runner(ecs, "FARGATE_SPOT").start(build, config(), 60);
    const [input] = ecs.inputs("RunTaskCommand");
    expect(input.launchType).toBeUndefined();
    expect(input.capacityProviderStrategy).toEqual([{ capacityProvider: "FARGATE_SPOT", weight: 1 }]);
    expect(input.overrides.cpu).toBeUndefined();
  });

  it("turns a capacity failure into a temporary error, and other failures into a permanent one", async () => {
    const ecs = fakeClient({
      RunTaskCommand: (_i, n) =>
        n === 1
          ? { tasks: [], failures: [{ arn: "arn:x", reason: "Capacity is unavailable at this time. Please try again later or in a different availability zone" }] }
          : { tasks: [], failures: [{ reason: "MISSING", detail: "the task definition is inactive" }] },
    });
    const r = runner(ecs);
    const first = await rejection<CascadeError>(r.start(build, config(), 60));
    expect([first.code, first.temporary]).toEqual(["CapacityUnavailable", true]);
    expect(first.message).toMatch(/^ECS RunTask for build "shop\/web-3" on cluster "builders": Capacity is unavailable/);
    const second = await rejection<CascadeError>(r.start(build, config(), 60));
    expect([second.code, second.temporary]).toEqual(["RunTaskFailed", false]);
    expect(second.message).toContain("MISSING (the task definition is inactive)");
    expect(isCapacityFailure("RESOURCE:MEMORY")).toBe(true);
    expect(isCapacityFailure("MISSING")).toBe(false);
  });

  it("translates RunTask and StopTask exceptions", async () => {
    const ecs = fakeClient({
      RunTaskCommand: (_i, n) => {
        throw n === 1 ? sdkError("ThrottlingException", "Rate exceeded") : sdkError("ClusterNotFoundException", "Cluster not found.");
      },
      StopTaskCommand: () => {
        throw sdkError("InvalidParameterException", "The referenced task was not found.");
      },
    });
    const r = runner(ecs);
    const throttled = await rejection<CascadeError>(r.start(build, config(), 60));
    expect(throttled.temporary).toBe(true);
    await expect(r.start(build, config(), 60)).rejects.toBeInstanceOf(NotFoundError);
    await expect(r.stop(TASK_ARN, "cancelled")).rejects.toThrow(`ECS StopTask for task "${TASK_ARN}": InvalidParameterException`);
  });

  it("stops a task with its reason", async () => {
    const ecs = fakeClient({ StopTaskCommand: (i) => ({ task: { taskArn: i.task } }) });
    await runner(ecs).stop(TASK_ARN, "x".repeat(300));
    expect(ecs.inputs("StopTaskCommand")).toEqual([{ cluster: "builders", task: TASK_ARN, reason: "x".repeat(255) }]);
  });
});
