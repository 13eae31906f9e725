/**
 * The `webhook` Lambda: API Gateway HTTP API event -> the same router and
 * ingest handlers as `cascade up` -> proxy result. It serves the provider
 * hooks only (`/hooks/*` and OpenShift's per-BuildConfig webhook URLs), which
 * authenticate themselves by signature or secret; the API's other routes
 * are the `api` function's, behind IAM. A trigger's `secretReference` is read
 * from Secrets Manager. After a delivery queued builds, the claimable ones are
 * dispatched to the launch queue.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { route, type ApiDeps } from "../src/runtime/api.js";
import { awsRuntime, awsSecretStore, awsSettings } from "../src/runtime/aws.js";
import { json, type HttpRequest } from "../src/runtime/http.js";
import { errorResponse } from "../src/runtime/ingest.js";
import { toApiGatewayResult, toHttpRequest, type ApiGatewayV2Result } from "./http-event.js";
import { lambdaClients } from "./lambda-clients.js";
import { lazyHandler } from "./lazy-handler.js";

const OPENSHIFT_HOOK = /^\/apis\/build\.openshift\.io\/v1\/namespaces\/[^/]+\/buildconfigs\/[^/]+\/webhooks\/[^/]+\/[a-z]+$/;

/** Whether a request is a provider hook this function serves. */
export function isHookRequest(req: Pick<HttpRequest, "method" | "path">): boolean {
  return req.method === "POST" && ((req.path.startsWith("/hooks/") && req.path !== "/hooks/registry") || OPENSHIFT_HOOK.test(req.path));
}

export interface WebhookOptions {
  /** Queue the launches of the builds a delivery made claimable (AWS: `FargateBuilds.dispatch`). */
  dispatch?: () => Promise<unknown>;
}

export function createWebhookHandler(deps: ApiDeps, o: WebhookOptions = {}): (event: unknown) => Promise<ApiGatewayV2Result> {
  return async (event) => {
    try {
      const req = toHttpRequest(event);
      if (!isHookRequest(req)) {
        return toApiGatewayResult(json(404, { error: "NotFound", message: `no webhook route for ${req.method} ${req.path}` }));
      }
      const res = await route(deps, req);
      if (res.status >= 200 && res.status < 300 && o.dispatch) {
        // The builds are queued whatever happens here; a failed dispatch is retried by the next one.
        await o.dispatch().catch((e: unknown) => deps.log.error({ err: e }, "dispatch after webhook failed"));
      }
      return toApiGatewayResult(res);
    } catch (e) {
      return toApiGatewayResult(errorResponse(e));
    }
  };
}

/** Construct the function's clients and runtime (the Lambda init phase). */
export function init(env: Record<string, string | undefined> = process.env) {
  const settings = awsSettings(env);
  const rt = awsRuntime(settings, {
    ...lambdaClients(settings),
    // Triggers' secretReference: key WebHookSecretKey of a Secret in Secrets Manager.
    secrets: awsSecretStore(settings, new SecretsManagerClient({})),
  });
  return createWebhookHandler(rt.deps, { dispatch: () => rt.fargate.dispatch() });
}

export const handler = lazyHandler(init);
