/**
 * `POST /hooks/registry`: Distribution notification envelopes. The local
 * registry is configured by `cascade up` to send them with a bearer token,
 * compared in constant time. Each event id is a delivery, so redeliveries are
 * recognised; each tagged manifest push becomes an image update for the planner.
 */
import { ValidationError } from "../core/errors.js";
import { constantTimeEqual } from "../core/webhook-signature.js";
import { parseRegistryNotification } from "../core/webhooks/registry-notification.js";
import type { ApiDeps } from "./api.js";
import { json, type HttpRequest, type HttpResponse } from "./http.js";

export async function handleRegistryNotification(deps: ApiDeps, req: HttpRequest): Promise<HttpResponse> {
  const auth = req.headers["authorization"] ?? "";
  const token = auth.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : "";
  if (!deps.registryToken || !constantTimeEqual(deps.registryToken, token)) {
    return json(401, { error: "Unauthorized", message: "registry notification token not accepted" });
  }
  let body: unknown;
  try {
    body = JSON.parse(req.body.toString("utf8"));
  } catch {
    throw new ValidationError("registry notification body is not valid JSON");
  }
  const { updates, ignored } = parseRegistryNotification(body);
  const results = [];
  for (const u of updates) {
    const res = await deps.planning.imageUpdated(u.image, u.digest, `registry notification ${u.eventId}`, { provider: "registry", id: u.eventId });
    results.push({
      event: u.eventId,
      image: `${u.image}@${u.digest}`,
      duplicate: res.duplicate,
      builds: res.builds.map((b) => `${b.namespace}/${b.id}`),
      coalesced: res.coalesced.map((c) => c.build),
      skipped: res.skipped,
    });
  }
  return json(200, { updates: results, ignored });
}
