/**
 * Webhook ingest: authenticate, deduplicate, normalise, match, queue.
 * The same handlers serve the local HTTP server and the `webhook` Lambda.
 */
import type { Logger } from "pino";
import { parse as parseYaml } from "yaml";
import type { BuildCause } from "../core/build.js";
import type { BuildConfig } from "../core/buildconfig.js";
import { gitTriggerSecrets } from "../core/buildconfig.js";
import { CascadeError, ValidationError } from "../core/errors.js";
import type { GitRefEvent } from "../core/events-in.js";
import { matchGitEvent } from "../core/match.js";
import { imageTagsForGitTag } from "../core/tags.js";
import { constantTimeEqual, verifySha256Signature } from "../core/webhook-signature.js";
import { normalizeGitHubCreate, normalizeGitHubPush } from "../core/webhooks/github.js";
import { normalizeGenericWebhook } from "../core/webhooks/generic.js";
import type { Clock } from "../ports/clock.js";
import type { Store } from "../ports/store.js";
import { sourceInputs, type Builds } from "./builds.js";
import type { Planning } from "./planning.js";
import { json, type HttpRequest, type HttpResponse } from "./http.js";

export interface IngestDeps {
  store: Store;
  builds: Builds;
  planning: Planning;
  clock: Clock;
  log: Logger;
}

const unauthorized = (message: string): HttpResponse => json(401, { error: "Unauthorized", message });

function parseJsonBody(req: HttpRequest): unknown {
  const type = req.headers["content-type"] ?? "application/json";
  let text = req.body.toString("utf8");
  if (type.startsWith("application/x-www-form-urlencoded")) {
    // GitHub's form content type carries the JSON in a `payload` field.
    text = new URLSearchParams(text).get("payload") ?? "";
  }
  try {
    // OpenShift's generic webhook also takes YAML (its documented curl example sends application/yaml).
    return /(^|\/|\+)(x-)?yaml\b/.test(type) ? parseYaml(text) : JSON.parse(text);
  } catch {
    throw new ValidationError(`request body is not valid ${type.includes("yaml") ? "YAML" : "JSON"}`);
  }
}

function buildsSummary(builds: { namespace: string; id: string; buildConfig: string }[]) {
  return builds.map((b) => ({ namespace: b.namespace, buildConfig: b.buildConfig, build: b.id }));
}

function gitCause(event: GitRefEvent, type: BuildCause["type"], now: string): BuildCause {
  return {
    type,
    message: `${type} ${event.refType === "tag" ? "tag" : "push"} ${event.refName}${event.after ? ` at ${event.after.slice(0, 12)}` : ""}`,
    ...(event.deliveryId ? { deliveryId: event.deliveryId } : {}),
    ref: event.ref,
    ...(event.after ? { commit: event.after } : {}),
    at: now,
  };
}

/** `POST /hooks/github`: push, create (tags) and ping. */
export async function handleGitHub(deps: IngestDeps, req: HttpRequest): Promise<HttpResponse> {
  const eventName = req.headers["x-github-event"];
  const deliveryId = req.headers["x-github-delivery"];
  if (!eventName) return json(400, { error: "ValidationError", message: "missing X-GitHub-Event header" });
  if (eventName === "ping") return json(200, { message: "pong", builds: [] });
  if (eventName !== "push" && eventName !== "create") {
    return json(202, { message: `GitHub event "${eventName}" starts no build`, builds: [] });
  }
  const signature = req.headers["x-hub-signature-256"];
  if (!signature) return unauthorized("missing X-Hub-Signature-256 header");
  const body = parseJsonBody(req);
  const event = eventName === "push" ? normalizeGitHubPush(body, deliveryId) : normalizeGitHubCreate(body, deliveryId);

  const configs = (await deps.store.listBuildConfigs()).map((s) => s.config);
  const match = matchGitEvent(event, configs);
  if (match.candidates.length === 0) {
    return json(202, {
      message: `no BuildConfig with a GitHub trigger builds repository ${event.repository.fullName ?? event.repository.urls[0]}`,
      builds: [],
    });
  }
  // A BuildConfig takes the event only when the signature verifies with its own trigger secret.
  const verified = new Set(
    match.candidates.filter((c) => triggerSecrets(c, "github").some((s) => verifySha256Signature(s, req.body, signature))),
  );
  if (verified.size === 0) return unauthorized("X-Hub-Signature-256 does not match the secret of any GitHub trigger for this repository");

  const now = deps.clock.now().toISOString();
  const delivery = deliveryId ? { provider: "github", id: deliveryId } : undefined;
  let toBuild = match.matched.filter((m) => verified.has(m.config));
  if (eventName === "create") {
    // GitHub sends both `push` and `create` for a new tag: build it once.
    const seen: typeof toBuild = [];
    for (const m of toBuild) {
      const recent = await deps.store.listBuilds({ namespace: ns(m.config), buildConfig: m.config.metadata.name, limit: 20 });
      if (!recent.some((b) => b.causes.some((c) => c.ref === event.ref))) seen.push(m);
    }
    toBuild = seen;
  }
  const skipped = match.skipped.filter((s) => verified.has(s.config)).map(describeSkip);
  if (toBuild.length === 0) {
    const seen = delivery ? await deps.store.recordDelivery(delivery, now) : { duplicate: false };
    return json(202, { message: seen.duplicate ? "duplicate delivery: nothing new queued" : "no build queued", duplicate: seen.duplicate, builds: [], skipped });
  }
  const res = await deps.planning.submitRoots(
    toBuild.map(({ config, reason }) => ({
      key: `${ns(config)}/${config.metadata.name}`,
      reason,
      cause: gitCause(event, "GitHub", now),
      inputs: sourceInputs(config, { ...(event.after ? { commit: event.after } : {}), ref: event.refName }),
      ...(event.refType === "tag" && config.spec.tagPolicy ? { outputTags: imageTagsForGitTag(event.refName, config.spec.tagPolicy) } : {}),
    })),
    delivery ? { delivery } : {},
  );
  deps.log.info({ delivery: deliveryId, duplicate: res.duplicate, builds: res.builds.map((b) => b.id) }, "github webhook");
  return json(res.duplicate ? 200 : 202, {
    message: res.duplicate
      ? "duplicate delivery: nothing new queued"
      : `${res.builds.length} build(s) queued${res.coalesced.length ? `, ${res.coalesced.length} coalesced into queued builds` : ""}`,
    duplicate: res.duplicate,
    builds: buildsSummary(res.builds),
    coalesced: res.coalesced,
    skipped: [...skipped, ...res.skipped],
  });
}

/** Inline trigger secrets; `secretReference` resolves through the secret store. */
export function triggerSecrets(config: BuildConfig, provider: "github" | "gitlab" | "bitbucket" | "generic"): string[] {
  return gitTriggerSecrets(config, provider).flatMap((t) => (t.secret ? [t.secret] : []));
}

const ns = (c: BuildConfig) => c.metadata.namespace ?? "default";
const describeSkip = (s: { config: BuildConfig; reason: string }) => ({ buildConfig: `${ns(s.config)}/${s.config.metadata.name}`, reason: s.reason });

function presentedSecret(req: HttpRequest): string | undefined {
  const auth = req.headers["authorization"];
  if (auth?.toLowerCase().startsWith("bearer ")) return auth.slice(7).trim();
  return req.headers["x-cascade-webhook-secret"] ?? req.query.get("secret") ?? undefined;
}

/**
 * `POST /hooks/generic/{namespace}/{name}`: OpenShift's generic webhook. The
 * secret comes as `Authorization: Bearer`, `X-Cascade-Webhook-Secret` or
 * `?secret=`, and is compared in constant time with the Generic trigger's.
 */
export async function handleGeneric(deps: IngestDeps, req: HttpRequest, namespace: string, name: string, pathSecret?: string) {
  const stored = await deps.store.getBuildConfig(namespace, name);
  const presented = pathSecret ?? presentedSecret(req);
  // Same answer whether the BuildConfig is missing or the secret is wrong, as OpenShift does.
  const secrets = stored ? triggerSecrets(stored.config, "generic") : [];
  if (!stored || !presented || !secrets.some((s) => constantTimeEqual(s, presented))) {
    return unauthorized(`webhook secret not accepted for buildconfig ${namespace}/${name}`);
  }
  const config = stored.config;
  const payload = req.body.length > 0 ? normalizeGenericWebhook(parseJsonBody(req)) : undefined;
  const want = config.spec.source?.git?.ref;
  const now = deps.clock.now().toISOString();
  if (payload?.git?.ref && want && payload.git.ref.replace(/^refs\/(heads|tags)\//, "") !== want.replace(/^refs\/(heads|tags)\//, "")) {
    return json(200, { message: `skipping build: ref "${payload.git.ref}" does not match "${want}"`, warning: "ref mismatch", builds: [] });
  }
  const cause: BuildCause = {
    type: "Generic",
    message: payload?.git?.commit ? `Generic webhook at ${payload.git.commit.slice(0, 12)}` : "Generic webhook",
    ...(payload?.git?.ref ? { ref: payload.git.ref } : {}),
    ...(payload?.git?.commit ? { commit: payload.git.commit } : {}),
    at: now,
  };
  const delivery = req.headers["x-request-id"] ? { provider: `generic:${namespace}/${name}`, id: req.headers["x-request-id"] } : undefined;
  const res = await deps.planning.submitRoots(
    [
      {
        key: `${namespace}/${name}`,
        reason: cause.message,
        cause,
        inputs: sourceInputs(config, { ...(payload?.git?.commit ? { commit: payload.git.commit } : {}) }),
      },
    ],
    delivery ? { delivery } : {},
  );
  return json(res.duplicate ? 200 : 202, {
    message: res.duplicate ? "duplicate delivery: nothing new queued" : `${res.builds.length} build(s) queued`,
    builds: buildsSummary(res.builds),
  });
}

export function errorResponse(e: unknown): HttpResponse {
  if (e instanceof CascadeError) {
    const status =
      e.code === "ValidationError" ? 400 : e.code === "NotFound" ? 404 : e.code === "Unauthorized" ? 401 : e.code === "Conflict" ? 409 : 500;
    return json(status, { error: e.code, message: e.message });
  }
  return json(500, { error: "InternalError", message: (e as Error)?.message ?? String(e) });
}
