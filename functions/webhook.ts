/**
 * The `webhook` Lambda: API Gateway event -> the same router and ingest
 * handlers as `cascade up` -> proxy result. Thin: parse at the edge, call the
 * runtime, answer. The AWS composition root (DynamoDB store, EventBridge bus,
 * ECS runner) is wired in by the AWS runtime; this factory takes its ports.
 */
import { route, type ApiDeps } from "../src/runtime/api.js";
import { errorResponse } from "../src/runtime/ingest.js";
import { toApiGatewayResult, toHttpRequest, type ApiGatewayV2Result } from "./http-event.js";

export function createWebhookHandler(deps: ApiDeps): (event: unknown) => Promise<ApiGatewayV2Result> {
  return async (event) => {
    try {
      return toApiGatewayResult(await route(deps, toHttpRequest(event)));
    } catch (e) {
      return toApiGatewayResult(errorResponse(e));
    }
  };
}
