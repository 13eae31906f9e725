/**
 * The `task-stopped` Lambda: EventBridge's "ECS Task State Change" (rule:
 * STOPPED, on the builder's cluster) -> the build's result recorded from its
 * reports -> `cascade.build.succeeded` (or failed, cancelled) and
 * `cascade.image.published` on the bus -> the chain followed and the freed
 * slots dispatched. A task is Cascade's when its builder container's
 * overrides carry `CASCADE_BUILD`; any other task on the cluster is ignored.
 */
import { BUILD_ENV } from "../src/adapters/aws/builder-env.js";
import { ValidationError } from "../src/core/errors.js";
import { parseRefKey } from "../src/ports/remote-builds.js";
import { awsRuntime, awsSettings, type AwsRuntime } from "../src/runtime/aws.js";
import type { StoppedOutcome } from "../src/runtime/fargate-builds.js";
import { EcsTaskStateChange, parseEvent } from "./aws-events.js";
import { lambdaClients } from "./lambda-clients.js";
import { lazyHandler } from "./lazy-handler.js";

/** Whether a cluster ARN is the configured cluster (given by name or ARN). */
export function sameCluster(clusterArn: string, configured: string): boolean {
  return clusterArn === configured || clusterArn.endsWith(`:cluster/${configured}`);
}

export function createTaskStoppedHandler(rt: Pick<AwsRuntime, "settings" | "fargate" | "log">) {
  return async (event: unknown): Promise<StoppedOutcome> => {
    const e = parseEvent(EcsTaskStateChange, event, "ECS Task State Change event");
    const d = e.detail;
    if (d.lastStatus !== "STOPPED") return { status: "ignored", reason: `task ${d.taskArn} is ${d.lastStatus}, not STOPPED` };
    if (!sameCluster(d.clusterArn, rt.settings.CASCADE_CLUSTER)) {
      return { status: "ignored", reason: `task ${d.taskArn} is on cluster ${d.clusterArn}, not the builder's` };
    }
    const container = rt.settings.CASCADE_BUILDER_CONTAINER;
    const value = d.overrides.containerOverrides.find((o) => o.name === container)?.environment?.find((v) => v.name === BUILD_ENV)?.value;
    if (value === undefined) return { status: "ignored", reason: `task ${d.taskArn} is not a Cascade builder task (no ${BUILD_ENV})` };
    const ref = parseRefKey(value);
    if (!ref) {
      throw new ValidationError(`ECS Task State Change event: detail.overrides.containerOverrides: ${BUILD_ENV} "${value}" is not namespace/build`);
    }
    const c = d.containers.find((x) => x.name === container);
    const out = await rt.fargate.stopped({
      ref,
      taskArn: d.taskArn,
      ...(d.stopCode ? { stopCode: d.stopCode } : {}),
      ...(d.stoppedReason ? { stoppedReason: d.stoppedReason } : {}),
      ...(c?.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
      ...(c?.reason ? { containerReason: c.reason } : {}),
      ...(d.stoppedAt ? { stoppedAt: d.stoppedAt } : {}),
    });
    if (out.status === "ignored") rt.log.info({ taskArn: d.taskArn, reason: out.reason }, "task stop ignored");
    return out;
  };
}

export function init(env: Record<string, string | undefined> = process.env) {
  const s = awsSettings(env);
  return createTaskStoppedHandler(
    awsRuntime(s, lambdaClients(s)),
  );
}

export const handler = lazyHandler(init);
