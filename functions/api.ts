/**
 * The `api` Lambda, behind IAM authorization: the read and cancel routes of
 * DESIGN.md (`GET /builds`, `/builds/{id}`, `/builds/{id}/log`,
 * `POST /builds/{id}/cancel`, `GET /buildconfigs`, `/graph`, `/healthz`), and
 * applying and starting BuildConfigs (`POST /buildconfigs`,
 * `/buildconfigs/{ns}/{name}/instantiate`, `/plan`), through the same router
 * as `cascade up`. Two routes differ on AWS: a cancel stops the build's
 * Fargate task, and a log is read from CloudWatch Logs.
 */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { CloudWatchBuildLogs } from "../src/adapters/aws/cloudwatch-build-logs.js";
import { NotFoundError } from "../src/core/errors.js";
import { route } from "../src/runtime/api.js";
import { awsRuntime, awsSettings, type AwsRuntime } from "../src/runtime/aws.js";
import { json, type HttpRequest, type HttpResponse } from "../src/runtime/http.js";
import { errorResponse } from "../src/runtime/ingest.js";
import { builderRunner } from "./builder-runner.js";
import { toApiGatewayResult, toHttpRequest, type ApiGatewayV2Result } from "./http-event.js";
import { lambdaClients } from "./lambda-clients.js";
import { lazyHandler } from "./lazy-handler.js";

const BUILD = "([^/]+(?:/[^/]+)?)";
/** The routes this function serves; anything else is 404 here. */
const SERVED: [string, RegExp][] = [
  ["GET", /^\/healthz$/],
  ["GET", /^\/builds$/],
  ["GET", new RegExp(`^/builds/${BUILD}$`)],
  ["GET", /^\/buildconfigs$/],
  ["POST", /^\/buildconfigs$/],
  ["POST", /^\/buildconfigs\/[^/]+\/[^/]+\/instantiate$/],
  ["GET", /^\/graph$/],
  ["POST", /^\/plan$/],
];
const CANCEL = new RegExp(`^/builds/${BUILD}/cancel$`);
const LOG = new RegExp(`^/builds/${BUILD}/log$`);

export interface ApiFunctionParts {
  rt: Pick<AwsRuntime, "deps" | "fargate" | "tasks" | "store" | "log">;
  logs?: Pick<CloudWatchBuildLogs, "read">;
}

async function serve({ rt, logs }: ApiFunctionParts, req: HttpRequest): Promise<HttpResponse> {
  const cancel = CANCEL.exec(req.path);
  if (cancel) {
    if (req.method !== "POST") return json(405, { error: "MethodNotAllowed", message: `${req.method} is not allowed on ${req.path}` });
    return json(202, await rt.fargate.cancel(decodeURIComponent(cancel[1]!)));
  }
  const log = LOG.exec(req.path);
  if (log) {
    if (req.method !== "GET") return json(405, { error: "MethodNotAllowed", message: `${req.method} is not allowed on ${req.path}` });
    const ref = decodeURIComponent(log[1]!);
    const build = await rt.store.findBuild(ref);
    if (!build) throw new NotFoundError(`build "${ref}" not found`);
    const task = await rt.tasks.get(build);
    if (!task?.taskArn || !logs) return { status: 200, body: "", headers: { "x-cascade-build-phase": build.phase } };
    const { text, truncated } = await logs.read(task.taskArn);
    return {
      status: 200,
      body: text,
      headers: { "x-cascade-build-phase": build.phase, ...(truncated ? { "x-cascade-log-truncated": "true" } : {}) },
    };
  }
  const served = SERVED.filter(([, re]) => re.test(req.path));
  if (!served.length) return json(404, { error: "NotFound", message: `no route for ${req.method} ${req.path}` });
  if (!served.some(([m]) => m === req.method)) return json(405, { error: "MethodNotAllowed", message: `${req.method} is not allowed on ${req.path}` });
  return route(rt.deps, req);
}

export function createApiHandler(parts: ApiFunctionParts): (event: unknown) => Promise<ApiGatewayV2Result> {
  return async (event) => {
    try {
      const req = toHttpRequest(event);
      const res = await serve(parts, req);
      if (req.method === "POST" && res.status >= 200 && res.status < 300) {
        await parts.rt.fargate.dispatch().catch((e: unknown) => parts.rt.log.error({ err: e }, "dispatch after API request failed"));
      }
      return toApiGatewayResult(res);
    } catch (e) {
      const res = errorResponse(e);
      if (res.status >= 500) parts.rt.log.error({ err: e }, "API request failed");
      return toApiGatewayResult(res);
    }
  };
}

export function init(env: Record<string, string | undefined> = process.env) {
  const s = awsSettings(env);
  const rt = awsRuntime(s, { ...lambdaClients(s), runner: builderRunner(s) });
  const logs = new CloudWatchBuildLogs({
    client: new CloudWatchLogsClient({}),
    logGroup: s.CASCADE_BUILDER_LOG_GROUP,
    streamPrefix: s.CASCADE_BUILDER_LOG_PREFIX,
    container: s.CASCADE_BUILDER_CONTAINER,
  });
  return createApiHandler({ rt, logs });
}

export const handler = lazyHandler(init);
