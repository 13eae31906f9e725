/**
 * The ECS builder runner: one Fargate task per build, started with RunTask on
 * the builder's task definition, with per-build container overrides (the
 * build's reference, its deadline, and CPU and memory from the BuildConfig's
 * `spec.resources`), and stopped with StopTask on cancel.
 *
 * The job itself never travels in the overrides: the `launch` function writes
 * it to the table (`BuildTasks.putJob`) and the task reads it there, so no
 * credential or inline Dockerfile appears on a command line, in the task's
 * description or in the "ECS Task State Change" events, and the 8 KiB
 * overrides limit does not bound a job. Registry credentials are not in the
 * job at all on AWS: the builder asks ECR for a token with its task role.
 *
 * Unlike the local runner, `start` returns as soon as ECS accepted the task:
 * a Lambda cannot wait for a build, so the end arrives as an event
 * (`functions/task-stopped.ts`). RunTask's `clientToken` is derived from the
 * build, so a redelivered launch message starts no second task.
 *
 * Errors: RunTask `failures` for capacity ("Capacity is unavailable", RESOURCE:*,
 * AGENT) and throttling become a temporary `CapacityUnavailable`; every SDK
 * exception goes through `translateAwsError`.
 */
import { createHash } from "node:crypto";
import { RunTaskCommand, StopTaskCommand, type ECSClient, type RunTaskCommandInput } from "@aws-sdk/client-ecs";
import type { Build } from "../../core/build.js";
import type { BuildConfig } from "../../core/buildconfig.js";
import { CascadeError, ValidationError } from "../../core/errors.js";
import type { RemoteBuilder } from "../../ports/remote-builds.js";
import { translateAwsError } from "./sdk-errors.js";

import { BUILD_ENV, DEADLINE_ENV, STARTED_BY } from "./builder-env.js";

export { BUILD_ENV, DEADLINE_ENV, STARTED_BY };

export interface EcsRunnerOptions {
  /** Only `send` is used; tests give a fake that records commands. */
  client: Pick<ECSClient, "send">;
  cluster: string;
  taskDefinition: string;
  /** The builder's container name in the task definition. */
  container: string;
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: boolean;
  /** FARGATE, or FARGATE_SPOT through a capacity provider strategy. */
  capacityProvider?: "FARGATE" | "FARGATE_SPOT";
}

/**
 * Fargate's valid task sizes: CPU units, the memory (MiB) each allows, and the
 * step between allowed memory values (256 CPU units take 512, 1024 or 2048).
 */
const FARGATE_SIZES: [cpu: number, min: number, max: number, step: number][] = [
  [256, 512, 2048, 512],
  [512, 1024, 4096, 1024],
  [1024, 2048, 8192, 1024],
  [2048, 4096, 16384, 1024],
  [4096, 8192, 30720, 1024],
  [8192, 16384, 61440, 4096],
  [16384, 32768, 122880, 8192],
];

/** Kubernetes-style quantities (`500m`, `2`, `4Gi`, `512Mi`) to CPU units and MiB. */
function cpuUnits(q: string | number, field: string): number {
  const s = String(q);
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(s);
  if (!m) throw new ValidationError(`${field} "${s}": expected a CPU quantity such as 1, 0.5 or 500m`);
  // 1 vCPU = 1024 CPU units; `m` is a thousandth of a vCPU.
  return Math.ceil(m[2] ? (Number(m[1]) / 1000) * 1024 : Number(m[1]) * 1024);
}
function memoryMiB(q: string | number, field: string): number {
  const s = String(q);
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(s);
  if (!m) throw new ValidationError(`${field} "${s}": expected a memory quantity such as 4Gi or 512Mi`);
  const n = Number(m[1]);
  const factor: Record<string, number> = { "": 1 / 1024 / 1024, Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024, K: 1e3 / 1048576, M: 1e6 / 1048576, G: 1e9 / 1048576, T: 1e12 / 1048576 };
  return Math.ceil(n * factor[m[2] ?? ""]!);
}

/**
 * The task size for a BuildConfig's `spec.resources` (limits, else requests):
 * the smallest Fargate size that holds both, or undefined for the task
 * definition's own size.
 */
export function fargateSize(config: BuildConfig): { cpu: number; memory: number } | undefined {
  const r = config.spec.resources;
  const cpuQ = r?.limits?.cpu ?? r?.requests?.cpu;
  const memQ = r?.limits?.memory ?? r?.requests?.memory;
  if (cpuQ === undefined && memQ === undefined) return undefined;
  const cpu = cpuQ === undefined ? 0 : cpuUnits(cpuQ, "spec.resources cpu");
  const memory = memQ === undefined ? 0 : memoryMiB(memQ, "spec.resources memory");
  for (const [c, min, max, step] of FARGATE_SIZES) {
    if (c < cpu || max < memory) continue;
    return { cpu: c, memory: Math.max(min, Math.ceil(memory / step) * step) };
  }
  throw new ValidationError(`spec.resources (cpu ${cpuQ ?? "-"}, memory ${memQ ?? "-"}) is larger than any Fargate task`);
}

/** Whether a RunTask failure reason means "no capacity now": worth a retry later. */
export function isCapacityFailure(reason: string): boolean {
  return /capacity|RESOURCE:|AGENT|throttl|rate exceeded|try again/i.test(reason);
}

export class EcsRunner implements RemoteBuilder {
  constructor(private readonly o: EcsRunnerOptions) {}

  /** RunTask's idempotency token for a build: one task per build, however often the launch is retried. */
  static clientToken(build: Pick<Build, "namespace" | "id">): string {
    return createHash("sha256").update(`${build.namespace}/${build.id}`).digest("hex").slice(0, 64);
  }

  /** The RunTask input for a build (exposed for tests and `cascade plan`-style inspection). */
  runTaskInput(build: Build, config: BuildConfig, deadlineSeconds: number): RunTaskCommandInput {
    const size = fargateSize(config);
    const ref = `${build.namespace}/${build.id}`;
    return {
      cluster: this.o.cluster,
      taskDefinition: this.o.taskDefinition,
      count: 1,
      ...(this.o.capacityProvider === "FARGATE_SPOT"
        ? { capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }] }
        : { launchType: "FARGATE" as const }),
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: this.o.subnets,
          securityGroups: this.o.securityGroups,
          assignPublicIp: this.o.assignPublicIp ? "ENABLED" : "DISABLED",
        },
      },
      overrides: {
        containerOverrides: [
          {
            name: this.o.container,
            environment: [
              { name: BUILD_ENV, value: ref },
              { name: DEADLINE_ENV, value: String(deadlineSeconds) },
            ],
          },
        ],
        ...(size ? { cpu: String(size.cpu), memory: String(size.memory) } : {}),
      },
      startedBy: STARTED_BY,
      clientToken: EcsRunner.clientToken(build),
      tags: [
        { key: "cascade:build", value: ref.slice(0, 256) },
        { key: "cascade:buildconfig", value: `${build.namespace}/${build.buildConfig}`.slice(0, 256) },
      ],
      enableECSManagedTags: true,
      propagateTags: "TASK_DEFINITION",
    };
  }

  /** Start the builder task for a build; resolves with the task ARN once ECS accepted it. */
  async start(build: Build, config: BuildConfig, deadlineSeconds: number): Promise<{ taskArn: string }> {
    const what = `ECS RunTask for build "${build.namespace}/${build.id}" on cluster "${this.o.cluster}"`;
    const input = this.runTaskInput(build, config, deadlineSeconds);
    let res;
    try {
      res = await this.o.client.send(new RunTaskCommand(input));
    } catch (e) {
      throw translateAwsError(e, what);
    }
    const failure = res.failures?.[0];
    const taskArn = res.tasks?.[0]?.taskArn;
    if (failure || !taskArn) {
      const reason = failure ? `${failure.reason ?? "unknown"}${failure.detail ? ` (${failure.detail})` : ""}` : "no task in the response";
      if (failure && isCapacityFailure(reason)) {
        throw new CascadeError("CapacityUnavailable", `${what}: ${reason}`, { temporary: true });
      }
      throw new CascadeError("RunTaskFailed", `${what}: ${reason}`);
    }
    return { taskArn };
  }

  /** Stop a builder task (cancel, deadline); `reason` shows in the task's `stoppedReason`. */
  async stop(taskArn: string, reason: string): Promise<void> {
    try {
      await this.o.client.send(new StopTaskCommand({ cluster: this.o.cluster, task: taskArn, reason: reason.slice(0, 255) }));
    } catch (e) {
      throw translateAwsError(e, `ECS StopTask for task "${taskArn}"`);
    }
  }
}
