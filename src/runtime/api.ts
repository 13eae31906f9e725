/**
 * Cascade's HTTP routes (DESIGN.md section 3): webhooks, builds, BuildConfigs,
 * subscribers. One router serves the local server and API Gateway.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { SecretStore } from "../ports/secret-store.js";
import { parseDuration } from "../core/duration.js";
import { NotFoundError, ValidationError } from "../core/errors.js";
import type { CachePruneResult } from "./cache-prune.js";
import type { Clock } from "../ports/clock.js";
import type { Store } from "../ports/store.js";
import type { Builds } from "./builds.js";
import { applyConfigs } from "./configs.js";
import type { Planning } from "./planning.js";
import type { SourceChanges } from "../ports/source-changes.js";
import { handleRegistryNotification } from "./registry-hook.js";
import { parseRegistryNotification } from "../core/webhooks/registry-notification.js";
import { normalizeGitHubPush } from "../core/webhooks/github.js";
import { json, type HttpRequest, type HttpResponse } from "./http.js";
import { errorResponse, handleBitbucket, handleGeneric, handleGitea, handleGitHub, handleGitLab } from "./ingest.js";

/** How old a cache entry may get when neither the request nor `cascade up --cache-ttl` says. */
export const DEFAULT_CACHE_TTL = "168h";

export interface ApiDeps {
  store: Store;
  builds: Builds;
  planning: Planning;
  sourceChanges?: SourceChanges;
  /** Token the local registry sends with its notifications (`Authorization: Bearer`). */
  registryToken?: string;
  clock: Clock;
  log: Logger;
  /** Prunes the layer caches (`POST /cache/prune`); absent where a lifecycle policy does it (ECR). */
  pruneCaches?: (olderThanMs: number) => Promise<CachePruneResult>;
  /** The cache TTL `cascade up` was given: the default age for a prune. */
  cacheTtl?: string;
  /** Where webhook `secretReference`s resolve. */
  secrets?: SecretStore;
}

type Handler = (deps: ApiDeps, req: HttpRequest, params: string[]) => Promise<HttpResponse>;

function body(req: HttpRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  try {
    const v = JSON.parse(req.body.toString("utf8")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
    return v as Record<string, unknown>;
  } catch {
    throw new ValidationError("request body must be a JSON object");
  }
}

async function findBuildOr404(deps: ApiDeps, ref: string) {
  const b = await deps.store.findBuild(decodeURIComponent(ref));
  if (!b) throw new NotFoundError(`build "${decodeURIComponent(ref)}" not found`);
  return b;
}

const routes: [string, RegExp, Handler][] = [
  ["GET", /^\/healthz$/, async () => json(200, { status: "ok" })],
  ["POST", /^\/hooks\/github$/, (d, r) => handleGitHub(d, r)],
  ["POST", /^\/hooks\/gitlab$/, (d, r) => handleGitLab(d, r)],
  ["POST", /^\/hooks\/bitbucket$/, (d, r) => handleBitbucket(d, r)],
  ["POST", /^\/hooks\/gitea$/, (d, r) => handleGitea(d, r)],
  [
    "POST",
    /^\/apis\/build\.openshift\.io\/v1\/namespaces\/([^/]+)\/buildconfigs\/([^/]+)\/webhooks\/([^/]+)\/(github|gitlab|bitbucket)$/,
    (d, r, [namespace, name, secret, provider]) => {
      const only = { namespace: namespace!, name: name!, secret: decodeURIComponent(secret!) };
      return provider === "github" ? handleGitHub(d, r, only) : provider === "gitlab" ? handleGitLab(d, r, only) : handleBitbucket(d, r, only);
    },
  ],
  ["POST", /^\/hooks\/registry$/, (d, r) => handleRegistryNotification(d, r)],
  [
    "POST",
    /^\/cache\/prune$/,
    async (d, r) => {
      if (!d.pruneCaches) throw new ValidationError("this Cascade prunes no cache: its registry's lifecycle policy does");
      const b = body(r);
      if (b.olderThan !== undefined && typeof b.olderThan !== "string") throw new ValidationError("olderThan must be a duration string such as 168h");
      const olderThan = (b.olderThan as string | undefined) ?? d.cacheTtl ?? DEFAULT_CACHE_TTL;
      return json(200, await d.pruneCaches(parseDuration(olderThan, "olderThan")));
    },
  ],
  [
    "GET",
    /^\/graph$/,
    async (d) => {
      const g = await d.planning.graph();
      const nodes = [...g.nodes.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
      const edges = nodes.flatMap((n) =>
        n.follows.flatMap((image) => (g.producers.get(image) ?? []).map((from) => ({ from, to: n.key, image }))),
      );
      return json(200, { nodes, edges });
    },
  ],
  [
    "POST",
    /^\/plan$/,
    async (d, r) => {
      const b = body(r);
      if (typeof b.image === "string") {
        const at = b.image.lastIndexOf("@");
        if (at < 0) throw new ValidationError(`image "${b.image}": expected REF@sha256:DIGEST`);
        return json(200, await d.planning.planImage(b.image.slice(0, at), b.image.slice(at + 1)));
      }
      if (typeof b.repository === "string" && typeof b.branch === "string") {
        return json(200, await d.planning.planPush(b.repository, b.branch));
      }
      if (b.event && typeof b.event === "object") {
        const ev = b.event as Record<string, unknown>;
        if (Array.isArray(ev.events)) {
          // A Distribution notification envelope: one plan per image update, merged in order.
          const { updates, ignored } = parseRegistryNotification(ev);
          const plans = [];
          for (const u of updates) plans.push({ image: `${u.image}@${u.digest}`, ...(await d.planning.planImage(u.image, u.digest)) });
          return json(200, { plans, ignored });
        }
        return json(200, await d.planning.planGitEvent(normalizeGitHubPush(ev)));
      }
      throw new ValidationError("plan needs {image: REF@DIGEST}, {repository, branch} or {event: GitHub push or registry notification}");
    },
  ],
  ["POST", /^\/hooks\/generic\/([^/]+)\/([^/]+)$/, (d, r, [ns, name]) => handleGeneric(d, r, ns!, name!)],
  [
    "POST",
    /^\/apis\/build\.openshift\.io\/v1\/namespaces\/([^/]+)\/buildconfigs\/([^/]+)\/webhooks\/([^/]+)\/generic$/,
    (d, r, [ns, name, secret]) => handleGeneric(d, r, ns!, name!, decodeURIComponent(secret!)),
  ],
  [
    "GET",
    /^\/builds$/,
    async (d, r) => {
      const limit = Number(r.query.get("limit") ?? 100);
      const builds = await d.store.listBuilds({
        ...(r.query.get("namespace") ? { namespace: r.query.get("namespace")! } : {}),
        ...(r.query.get("buildconfig") ? { buildConfig: r.query.get("buildconfig")! } : {}),
        limit: Number.isFinite(limit) && limit > 0 ? limit : 100,
      });
      return json(200, { builds });
    },
  ],
  ["GET", /^\/builds\/([^/]+(?:\/[^/]+)?)$/, async (d, _r, [id]) => json(200, await findBuildOr404(d, id!))],
  ["POST", /^\/builds\/([^/]+(?:\/[^/]+)?)\/cancel$/, async (d, _r, [id]) => json(202, await d.builds.cancel(decodeURIComponent(id!)))],
  ["GET", /^\/buildconfigs$/, async (d) => json(200, { buildconfigs: await d.store.listBuildConfigs() })],
  [
    "POST",
    /^\/buildconfigs$/,
    async (d, r) => {
      const b = body(r);
      const items = Array.isArray(b.items) ? b.items : [b];
      return json(200, { results: await applyConfigs(d, items) });
    },
  ],
  [
    "POST",
    /^\/buildconfigs\/([^/]+)\/([^/]+)\/instantiate$/,
    async (d, r, [ns, name]) => {
      const b = body(r);
      const build = await d.planning.startBuild(ns!, name!, {
        ...(typeof b.commit === "string" ? { commit: b.commit } : {}),
        ...(typeof b.ref === "string" ? { ref: b.ref } : {}),
        ...(typeof b.message === "string" ? { message: b.message } : {}),
      });
      return json(201, build);
    },
  ],
  [
    "POST",
    /^\/subscribers$/,
    async (d, r) => {
      const b = body(r);
      if (typeof b.url !== "string") throw new ValidationError("url: expected an http(s) URL");
      let url: URL;
      try {
        url = new URL(b.url);
      } catch {
        throw new ValidationError(`url "${b.url}" is not a valid URL`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new ValidationError(`url "${b.url}": only http and https are supported`);
      const mode = b.mode === undefined ? "binary" : b.mode;
      if (mode !== "binary" && mode !== "structured") throw new ValidationError(`mode "${String(mode)}": expected binary or structured`);
      const secret = typeof b.secret === "string" && b.secret ? b.secret : randomBytes(24).toString("hex");
      const sub = await d.store.addSubscriber({ url: url.toString(), secret, mode }, d.clock.now().toISOString());
      return json(201, sub);
    },
  ],
  [
    "GET",
    /^\/subscribers$/,
    async (d) => json(200, { subscribers: (await d.store.listSubscribers()).map(({ secret: _s, ...rest }) => rest) }),
  ],
];

export async function route(deps: ApiDeps, req: HttpRequest): Promise<HttpResponse> {
  if (!deps.planning) return json(503, { error: "Starting", message: "Cascade is starting; retry shortly" });
  try {
    let pathMatched = false;
    for (const [method, re, handler] of routes) {
      const m = re.exec(req.path);
      if (!m) continue;
      pathMatched = true;
      if (method !== req.method) continue;
      return await handler(deps, req, m.slice(1));
    }
    return pathMatched
      ? json(405, { error: "MethodNotAllowed", message: `${req.method} is not allowed on ${req.path}` })
      : json(404, { error: "NotFound", message: `no route for ${req.method} ${req.path}` });
  } catch (e) {
    const res = errorResponse(e);
    if (res.status >= 500) deps.log.error({ err: e, path: req.path }, "request failed");
    return res;
  }
}
