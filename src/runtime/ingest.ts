/**
 * Webhook ingest: authenticate, deduplicate, normalise, match, queue.
 * The same handlers serve the local HTTP server and the `webhook` Lambda.
 */
import type { Logger } from "pino";
import { parse as parseYaml } from "yaml";
import type { BuildCause } from "../core/build.js";
import type { BuildConfig } from "../core/buildconfig.js";
import { gitTriggerSecrets } from "../core/buildconfig.js";
import type { SecretStore } from "../ports/secret-store.js";
import { CascadeError, ValidationError } from "../core/errors.js";
import type { GitRefEvent } from "../core/events-in.js";
import { matchGitEvent } from "../core/match.js";
import { imageTagsForGitTag } from "../core/tags.js";
import { constantTimeEqual, hmacSha256Hex, verifySha256Signature } from "../core/webhook-signature.js";
import { normalizeBitbucketPush } from "../core/webhooks/bitbucket.js";
import { normalizeGiteaCreate, normalizeGiteaDelete, normalizeGiteaPush } from "../core/webhooks/gitea.js";
import { gitlabEventKind, normalizeGitLabPush } from "../core/webhooks/gitlab.js";
import { normalizeGitHubCreate, normalizeGitHubPush } from "../core/webhooks/github.js";
import { normalizeGenericWebhook } from "../core/webhooks/generic.js";
import type { Clock } from "../ports/clock.js";
import type { Store } from "../ports/store.js";
import { sourceInputs, type Builds } from "./builds.js";
import type { Planning } from "./planning.js";
import type { SourceChanges } from "../ports/source-changes.js";
import { json, type HttpRequest, type HttpResponse } from "./http.js";

export interface IngestDeps {
  store: Store;
  builds: Builds;
  planning: Planning;
  /** Lists a push's changed files when its payload does not (for `spec.paths`). */
  sourceChanges?: SourceChanges;
  clock: Clock;
  log: Logger;
  /** Where webhook triggers' `secretReference`s resolve (key `WebHookSecretKey`, as in OpenShift). */
  secrets?: SecretStore;
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

/** How one provider's request authenticates a BuildConfig, and what its events are. */
export interface GitDelivery {
  provider: "github" | "gitlab" | "bitbucket" | "gitea";
  /** The trigger provider whose secrets authenticate (Gitea uses GitHub triggers). */
  triggerProvider: "github" | "gitlab" | "bitbucket";
  causeType: BuildCause["type"];
  events: GitRefEvent[];
  deliveryId?: string;
  /** Whether this secret authenticates the request (signature or token, compared in constant time). */
  verify(secret: string): boolean;
  /** Name of what was checked, for the 401 message. */
  credential: string;
  /** Skip BuildConfigs that already built this ref (a `create` after its `push`). */
  onlyNewRefs?: boolean;
  /** Restrict to one BuildConfig (OpenShift's per-BuildConfig URLs), authenticated by the secret in the URL. */
  only?: OpenShiftTarget;
}

export interface OpenShiftTarget {
  namespace: string;
  name: string;
  secret: string;
}

/**
 * The check for a request: on OpenShift's URLs the path secret must equal the
 * trigger's, and a provider signature, when present, must verify too.
 */
function verifier(only: OpenShiftTarget | undefined, present: boolean, provider: (secret: string) => boolean): (secret: string) => boolean {
  if (!only) return provider;
  return (secret) => constantTimeEqual(secret, only.secret) && (!present || provider(secret));
}

/** Match, authenticate, deduplicate and queue the events of one delivery. */
export async function ingestGitDelivery(deps: IngestDeps, d: GitDelivery): Promise<HttpResponse> {
  // Only the BuildConfigs of the delivery's repositories (from the index planning keeps), or the one of an OpenShift URL:
  // matchGitEvent decides over them as over every BuildConfig.
  const configs: readonly BuildConfig[] = d.only
    ? [(await deps.store.getBuildConfig(d.only.namespace, d.only.name))?.config].filter((c): c is BuildConfig => c !== undefined)
    : await deps.planning.repositoryConfigs(d.events.flatMap((e) => e.repository.urls));
  if (d.only) {
    // OpenShift checks the secret in the URL before anything else, and answers every failure alike.
    const target = configs[0];
    if (!target || !(await triggerSecrets(target, d.triggerProvider, deps.secrets)).some((s) => constantTimeEqual(s, d.only!.secret))) {
      return unauthorized(`webhook secret not accepted for buildconfig ${d.only.namespace}/${d.only.name}`);
    }
  }
  const results = [];
  let anyCandidate = false;
  let anyVerified = false;
  for (const event of d.events) {
    let match = matchGitEvent(event, configs);
    if (event.changedFiles === undefined && event.before && deps.sourceChanges && match.candidates.some((c) => c.spec.paths?.length)) {
      const uri = match.candidates.find((c) => c.spec.paths?.length)!.spec.source?.git?.uri;
      const files = uri ? await deps.sourceChanges.changedFiles(uri, event.before, event.after) : undefined;
      if (files) match = matchGitEvent({ ...event, changedFiles: files }, configs);
    }
    if (match.candidates.length === 0) continue;
    anyCandidate = true;
    // A BuildConfig takes the event only when the request authenticates with its own trigger secret.
    const verified = new Set<BuildConfig>();
    for (const c of match.candidates) if ((await triggerSecrets(c, d.triggerProvider, deps.secrets)).some((s) => d.verify(s))) verified.add(c);
    if (verified.size === 0) continue;
    anyVerified = true;
    const now = deps.clock.now().toISOString();
    const delivery = event.deliveryId ? { provider: d.provider, id: event.deliveryId } : undefined;
    let toBuild = match.matched.filter((m) => verified.has(m.config));
    if (d.onlyNewRefs) {
      const fresh: typeof toBuild = [];
      for (const m of toBuild) {
        const recent = await deps.store.listBuilds({ namespace: ns(m.config), buildConfig: m.config.metadata.name, limit: 20 });
        if (!recent.some((b) => b.causes.some((c) => c.ref === event.ref))) fresh.push(m);
      }
      toBuild = fresh;
    }
    const skipped = match.skipped.filter((x) => verified.has(x.config)).map(describeSkip);
    if (toBuild.length === 0) {
      const seen = delivery ? await deps.store.recordDelivery(delivery, now) : { duplicate: false };
      results.push({ ref: event.ref, duplicate: seen.duplicate, builds: [], coalesced: [], skipped });
      continue;
    }
    const res = await deps.planning.submitRoots(
      toBuild.map(({ config, reason }) => ({
        key: `${ns(config)}/${config.metadata.name}`,
        reason,
        cause: gitCause(event, d.causeType, now),
        inputs: sourceInputs(config, { ...(event.after ? { commit: event.after } : {}), ref: event.refName }),
        ...(event.refType === "tag" && config.spec.tagPolicy ? { outputTags: imageTagsForGitTag(event.refName, config.spec.tagPolicy) } : {}),
      })),
      delivery ? { delivery } : {},
    );
    deps.log.info({ provider: d.provider, delivery: event.deliveryId, duplicate: res.duplicate, builds: res.builds.map((b) => b.id) }, "git webhook");
    results.push({ ref: event.ref, duplicate: res.duplicate, builds: buildsSummary(res.builds), coalesced: res.coalesced, skipped: [...skipped, ...res.skipped] });
  }
  if (!anyCandidate) {
    const repo = d.events[0]?.repository;
    if (d.only) return json(200, { message: "no build started", warning: `the payload's repository ${repo?.urls[0] ?? ""} is not this BuildConfig's source`, builds: [] });
    return json(202, {
      message: d.events.length
        ? `no BuildConfig with a ${d.causeType} trigger builds repository ${repo?.fullName ?? repo?.urls[0]}`
        : "the delivery changes no branch or tag",
      builds: [],
    });
  }
  if (!anyVerified) return unauthorized(`${d.credential} does not match the secret of any ${d.causeType} trigger for this repository`);
  const builds = results.flatMap((r) => r.builds);
  const duplicate = results.length > 0 && results.every((r) => r.duplicate);
  const coalesced = results.flatMap((r) => r.coalesced);
  if (d.only && builds.length === 0 && coalesced.length === 0 && !duplicate) {
    // OpenShift answers a ref mismatch with 200 and a warning, and starts nothing.
    return json(200, { message: "no build started", warning: results.flatMap((r) => r.skipped.map((x) => x.reason)).join("; "), builds: [] });
  }
  return json(duplicate ? 200 : 202, {
    message: duplicate
      ? "duplicate delivery: nothing new queued"
      : builds.length
        ? `${builds.length} build(s) queued${coalesced.length ? `, ${coalesced.length} coalesced into queued builds` : ""}`
        : coalesced.length
          ? `${coalesced.length} coalesced into queued builds`
          : "no build queued",
    duplicate,
    builds,
    coalesced,
    skipped: results.flatMap((r) => r.skipped),
  });
}

/** `POST /hooks/github`: push, create (tags) and ping; `X-Hub-Signature-256` over the raw body. */
export async function handleGitHub(deps: IngestDeps, req: HttpRequest, only?: GitDelivery["only"]): Promise<HttpResponse> {
  const eventName = req.headers["x-github-event"];
  const deliveryId = req.headers["x-github-delivery"];
  if (!eventName) return json(400, { error: "ValidationError", message: "missing X-GitHub-Event header" });
  if (eventName === "ping") return json(200, { message: "pong", builds: [] });
  if (eventName !== "push" && eventName !== "create") {
    return json(202, { message: `GitHub event "${eventName}" starts no build`, builds: [] });
  }
  const signature = req.headers["x-hub-signature-256"];
  if (!signature && !only) return unauthorized("missing X-Hub-Signature-256 header");
  const body = parseJsonBody(req);
  const event = eventName === "push" ? normalizeGitHubPush(body, deliveryId) : normalizeGitHubCreate(body, deliveryId);
  return ingestGitDelivery(deps, {
    provider: "github",
    triggerProvider: "github",
    causeType: "GitHub",
    events: [event],
    ...(deliveryId ? { deliveryId } : {}),
    verify: verifier(only, signature !== undefined, (secret) => verifySha256Signature(secret, req.body, signature)),
    credential: only ? "the secret in the URL" : "X-Hub-Signature-256",
    onlyNewRefs: eventName === "create",
    ...(only ? { only } : {}),
  });
}

/** `POST /hooks/gitlab`: Push Hook and Tag Push Hook; `X-Gitlab-Token` is the trigger's secret. */
export async function handleGitLab(deps: IngestDeps, req: HttpRequest, only?: GitDelivery["only"]): Promise<HttpResponse> {
  const kind = gitlabEventKind(req.headers["x-gitlab-event"]);
  if (!req.headers["x-gitlab-event"]) return json(400, { error: "ValidationError", message: "missing X-Gitlab-Event header" });
  if (!kind) return json(202, { message: `GitLab event "${req.headers["x-gitlab-event"]}" starts no build`, builds: [] });
  const token = req.headers["x-gitlab-token"];
  if (!token && !only) return unauthorized("missing X-Gitlab-Token header");
  const deliveryId = req.headers["x-gitlab-event-uuid"];
  const event = normalizeGitLabPush(parseJsonBody(req), deliveryId);
  return ingestGitDelivery(deps, {
    provider: "gitlab",
    triggerProvider: "gitlab",
    causeType: "GitLab",
    events: [event],
    ...(deliveryId ? { deliveryId } : {}),
    verify: verifier(only, token !== undefined, (secret) => token !== undefined && constantTimeEqual(secret, token)),
    credential: only ? "the secret in the URL" : "X-Gitlab-Token",
    ...(only ? { only } : {}),
  });
}

/** `POST /hooks/bitbucket`: Cloud `repo:push` and Data Center `repo:refs_changed`; `X-Hub-Signature` HMAC-SHA256. */
export async function handleBitbucket(deps: IngestDeps, req: HttpRequest, only?: GitDelivery["only"]): Promise<HttpResponse> {
  const key = req.headers["x-event-key"];
  if (!key) return json(400, { error: "ValidationError", message: "missing X-Event-Key header" });
  if (key === "diagnostics:ping") return json(200, { message: "pong", builds: [] });
  if (key !== "repo:push" && key !== "repo:refs_changed") return json(202, { message: `Bitbucket event "${key}" starts no build`, builds: [] });
  const signature = req.headers["x-hub-signature"];
  if (!signature && !only) return unauthorized("missing X-Hub-Signature header");
  const deliveryId = req.headers["x-request-uuid"] ?? req.headers["x-request-id"];
  const events = normalizeBitbucketPush(parseJsonBody(req), deliveryId);
  return ingestGitDelivery(deps, {
    provider: "bitbucket",
    triggerProvider: "bitbucket",
    causeType: "Bitbucket",
    events,
    ...(deliveryId ? { deliveryId } : {}),
    verify: verifier(only, signature !== undefined, (secret) => verifySha256Signature(secret, req.body, signature)),
    credential: only ? "the secret in the URL" : "X-Hub-Signature",
    ...(only ? { only } : {}),
  });
}

/** `POST /hooks/gitea`: Gitea and Forgejo push and create; `X-Gitea-Signature` (hex HMAC-SHA256) with GitHub triggers. */
export async function handleGitea(deps: IngestDeps, req: HttpRequest): Promise<HttpResponse> {
  const eventName = req.headers["x-gitea-event"] ?? req.headers["x-forgejo-event"];
  if (!eventName) return json(400, { error: "ValidationError", message: "missing X-Gitea-Event header" });
  if (eventName !== "push" && eventName !== "create" && eventName !== "delete") {
    return json(202, { message: `Gitea event "${eventName}" starts no build`, builds: [] });
  }
  const signature = req.headers["x-gitea-signature"] ?? req.headers["x-forgejo-signature"];
  if (!signature) return unauthorized("missing X-Gitea-Signature header");
  const deliveryId = req.headers["x-gitea-delivery"] ?? req.headers["x-forgejo-delivery"];
  const body = parseJsonBody(req);
  const event =
    eventName === "push" ? normalizeGiteaPush(body, deliveryId) : eventName === "create" ? normalizeGiteaCreate(body, deliveryId) : normalizeGiteaDelete(body, deliveryId);
  return ingestGitDelivery(deps, {
    provider: "gitea",
    triggerProvider: "github",
    causeType: "Gitea",
    events: [event],
    ...(deliveryId ? { deliveryId } : {}),
    verify: (secret) => constantTimeEqual(hmacSha256Hex(secret, req.body), signature.trim().toLowerCase()),
    credential: "X-Gitea-Signature",
    onlyNewRefs: eventName === "create",
  });
}

/** The key of a webhook secret in the Secret a trigger's `secretReference` names (OpenShift's). */
export const WEBHOOK_SECRET_KEY = "WebHookSecretKey";

/**
 * The secrets a provider's triggers accept: inline ones, and those their
 * `secretReference` names (key `WebHookSecretKey` of a Secret in the
 * BuildConfig's namespace). A reference to a missing Secret or key accepts
 * nothing, and is logged by the caller's 401.
 */
export async function triggerSecrets(config: BuildConfig, provider: "github" | "gitlab" | "bitbucket" | "generic", secrets?: SecretStore): Promise<string[]> {
  const out: string[] = [];
  for (const t of gitTriggerSecrets(config, provider)) {
    if (t.secret) out.push(t.secret);
    if (t.secretReference && secrets) {
      // A missing Secret accepts nothing (a 401); a store that cannot answer is a server error, not a wrong secret.
      const found = await secrets.get({ kind: "Secret", namespace: ns(config), name: t.secretReference.name });
      const value = found?.data[WEBHOOK_SECRET_KEY]?.toString("utf8");
      if (value) out.push(value);
    }
  }
  return out;
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
  const secrets = stored ? await triggerSecrets(stored.config, "generic", deps.secrets) : [];
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
  // The payload's env reaches the build only when the Generic trigger allows it, as in OpenShift.
  const allowEnv = gitTriggerSecrets(config, "generic").some((t) => t.allowEnv === true);
  const env = allowEnv ? (payload?.env ?? []).flatMap((e) => (e.value !== undefined ? [{ name: e.name, value: e.value }] : [])) : [];
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
        ...(env.length ? { env } : {}),
      },
    ],
    delivery ? { delivery } : {},
  );
  return json(res.duplicate ? 200 : 202, {
    message: res.duplicate
      ? "duplicate delivery: nothing new queued"
      : res.builds.length === 0 && res.coalesced.length > 0
        ? `0 build(s) queued: joined queued build ${res.coalesced.map((c) => c.build).join(", ")}`
        : res.builds.length === 0 && res.skipped.length > 0
          ? `0 build(s) queued: ${res.skipped.map((x) => x.reason).join("; ")}`
          : `${res.builds.length} build(s) queued`,
    builds: buildsSummary(res.builds),
    ...(res.coalesced.length ? { coalesced: res.coalesced } : {}),
    ...(res.skipped.length ? { skipped: res.skipped } : {}),
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
