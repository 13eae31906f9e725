/**
 * The edge of the HTTP Lambda functions: an API Gateway HTTP API event
 * (payload format 2.0) parsed with zod into Cascade's transport-neutral
 * HttpRequest, and an HttpResponse back into the proxy result. The raw body
 * bytes are kept exactly, because webhook signatures are computed over them.
 */
import { z } from "zod";
import { ValidationError } from "../src/core/errors.js";
import type { HttpRequest, HttpResponse } from "../src/runtime/http.js";

export const ApiGatewayV2Event = z.looseObject({
  version: z.literal("2.0"),
  rawPath: z.string(),
  rawQueryString: z.string().default(""),
  headers: z.record(z.string(), z.string()).default({}),
  requestContext: z.looseObject({ http: z.looseObject({ method: z.string() }), requestId: z.string().optional() }),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().default(false),
});
export type ApiGatewayV2Event = z.infer<typeof ApiGatewayV2Event>;

export interface ApiGatewayV2Result {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: false;
}

export function toHttpRequest(event: unknown): HttpRequest {
  const parsed = ApiGatewayV2Event.safeParse(event);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new ValidationError(`API Gateway event: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  const e = parsed.data;
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(e.headers)) headers[k.toLowerCase()] = v;
  return {
    method: e.requestContext.http.method.toUpperCase(),
    path: e.rawPath.replace(/\/+$/, "") || "/",
    query: new URLSearchParams(e.rawQueryString),
    headers,
    body: e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body, e.isBase64Encoded ? "base64" : "utf8"),
  };
}

export function toApiGatewayResult(res: HttpResponse): ApiGatewayV2Result {
  const text = typeof res.body === "string";
  return {
    statusCode: res.status,
    headers: { "content-type": text ? "text/plain; charset=utf-8" : "application/json", ...res.headers },
    body: res.body === undefined ? "" : text ? (res.body as string) : JSON.stringify(res.body),
    isBase64Encoded: false,
  };
}
