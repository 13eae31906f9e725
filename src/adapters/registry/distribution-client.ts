/**
 * Registry adapter over the Distribution v2 / OCI distribution HTTP API:
 * HEAD and GET of manifests and config blobs, tags and deletes for pruning,
 * and the writes a push by digest needs (blob uploads in one request each,
 * manifests by digest or tag), with the registry token flow (Basic, or
 * Bearer from a token realm). Blobs are uploaded from memory, in one PUT:
 * simple and retry-safe, and enough for the images Cascade pushes itself
 * (Custom-strategy layouts, and Enforce-mode builds); buildah pushes the rest.
 *
 * Hand-written on purpose: no well-kept npm library does a small Distribution
 * v2 HEAD/GET client with bearer and basic auth without pulling in a large
 * dependency tree, and what Cascade needs is a few hundred lines over Node's
 * global fetch.
 *
 * Errors are `RegistryError`s that name the image reference and the HTTP
 * status; `temporary` is true for network errors, timeouts, 429 and 5xx.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { z } from "zod";
import { RegistryError } from "../../core/errors.js";
import { parseImageRef, type ImageRef } from "../../core/image-ref.js";
import type {
  CredentialsLookup,
  Descriptor,
  ImageConfig,
  Manifest,
  Platform,
  Registry,
  RegistryAdmin,
  RegistryWriter,
  RegistryCredentials,
} from "../../ports/registry.js";

export const MediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
} as const;

const MANIFEST_ACCEPT = [
  MediaTypes.ociManifest,
  MediaTypes.ociIndex,
  MediaTypes.dockerManifest,
  MediaTypes.dockerManifestList,
].join(", ");
const IMAGE_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
const INDEX_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);

/** Distribution refuses manifests over 4 MiB; config blobs are small JSON too. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** The token spec's default lifetime when a realm omits `expires_in`. */
const DEFAULT_TOKEN_SECONDS = 60;
const DEFAULT_PLATFORM: Platform = { os: "linux", architecture: "amd64" };

export interface DistributionClientOptions {
  /** Credentials per registry host as written in the reference (`127.0.0.1:5000`, `docker.io`). */
  credentialsFor?: CredentialsLookup;
  /** Hosts (`host` or `host:port`) to reach over plain http. Loopback hosts always are. */
  insecureHosts?: readonly string[];
  /** Per-request timeout, in ms. Default 30 s. */
  timeoutMs?: number;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof globalThis.fetch;
  /** Clock for token expiry, in ms. Default `Date.now`. */
  now?: () => number;
  userAgent?: string;
}

// ---------------------------------------------------------------- WWW-Authenticate

export interface AuthChallenge {
  /** Lowercased: `basic`, `bearer`. */
  scheme: string;
  /** Parameter names lowercased, values unquoted. */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses a `WWW-Authenticate` header (RFC 7235) into its challenges, e.g.
 * `Bearer realm="https://auth/token",service="registry",scope="repository:a:pull"`.
 * Quoted values may contain commas and backslash escapes. Unparseable input
 * gives the challenges read so far (possibly none).
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let pos = 0;
  const skip = (chars: RegExp) => {
    while (pos < header.length && chars.test(header[pos]!)) pos++;
  };
  const token = (): string => {
    const start = pos;
    while (pos < header.length && TOKEN_CHAR.test(header[pos]!)) pos++;
    return header.slice(start, pos);
  };
  const quoted = (): string | undefined => {
    let value = "";
    pos++; // opening quote
    while (pos < header.length) {
      const c = header[pos++]!;
      if (c === '"') return value;
      if (c === "\\" && pos < header.length) value += header[pos++]!;
      else value += c;
    }
    return undefined; // unterminated
  };

  for (;;) {
    skip(/[\s,]/);
    const scheme = token();
    if (scheme === "") break;
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const start = pos;
      const name = token();
      if (name === "") return challenges; // end, or garbage
      skip(/[ \t]/);
      if (header[pos] !== "=") {
        pos = start; // not a parameter: the next challenge's scheme
        break;
      }
      pos++;
      skip(/[ \t]/);
      const value = header[pos] === '"' ? quoted() : token();
      if (value === undefined) return challenges;
      challenge.params[name.toLowerCase()] = value;
    }
  }
  return challenges;
}

// ---------------------------------------------------------------- hosts

/** The hostname of a `host[:port]` or `[v6]:port` registry, without brackets. */
function hostnameOf(registry: string): string {
  if (registry.startsWith("[")) return registry.slice(1, registry.indexOf("]"));
  const colon = registry.lastIndexOf(":");
  return colon < 0 ? registry : registry.slice(0, colon);
}

/** `localhost`, `127.0.0.0/8` and `::1`, with or without a port. */
export function isLoopbackHost(registry: string): boolean {
  const host = hostnameOf(registry).toLowerCase();
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}

/** The host the API answers on: Docker Hub's name is not its API host. */
function apiHostOf(registry: string): string {
  return registry === "docker.io" ? "registry-1.docker.io" : registry;
}

// ---------------------------------------------------------------- wire schemas

const WireDescriptor = z.object({
  mediaType: z.string(),
  digest: z.string(),
  size: z.number(),
  platform: z
    .object({ os: z.string(), architecture: z.string(), variant: z.string().optional() })
    .optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const WireManifest = z.object({
  schemaVersion: z.number().optional(),
  mediaType: z.string().optional(),
  config: WireDescriptor.optional(),
  layers: z.array(WireDescriptor).optional(),
  manifests: z.array(WireDescriptor).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const TokenResponse = z.object({
  token: z.string().optional(),
  access_token: z.string().optional(),
  expires_in: z.number().optional(),
});

const RegistryErrors = z.object({
  errors: z.array(z.object({ code: z.string().optional(), message: z.string().optional() })),
});

// ---------------------------------------------------------------- client

interface Target {
  /** The reference as the caller wrote it, for messages. */
  ref: string;
  parsed: ImageRef;
  /** The registry as written in the reference; the credentials key. */
  registry: string;
  baseUrl: string;
  repository: string;
  /** Tag or digest to put in the manifest URL. */
  reference: string;
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

type Auth = { kind: "basic"; header: string } | { kind: "bearer"; header: string } | undefined;

export class DistributionClient implements RegistryAdmin, RegistryWriter {
  readonly #credentialsFor: CredentialsLookup;
  readonly #insecureHosts: ReadonlySet<string>;
  readonly #timeoutMs: number;
  readonly #fetch: typeof globalThis.fetch;
  readonly #now: () => number;
  readonly #userAgent: string;
  /** Hosts that asked for Basic: send it up front next time. */
  readonly #basicHosts = new Set<string>();
  /** Bearer tokens per `apiHost|scope`, with in-flight fetches shared. */
  readonly #tokens = new Map<string, Promise<CachedToken>>();

  constructor(options: DistributionClientOptions = {}) {
    this.#credentialsFor = options.credentialsFor ?? (() => undefined);
    this.#insecureHosts = new Set((options.insecureHosts ?? []).map((h) => h.toLowerCase()));
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#userAgent = options.userAgent ?? "cascade";
  }

  async resolveDigest(ref: string): Promise<{ digest: string; mediaType: string }> {
    const target = this.#target(ref);
    const res = await this.#request(target, "HEAD", `manifests/${target.reference}`, MANIFEST_ACCEPT, "manifest");
    const digest = res.headers.get("docker-content-digest") ?? target.parsed.digest;
    const mediaType = contentType(res);
    if (digest !== undefined && digest !== "" && mediaType !== undefined && mediaType !== "application/json") {
      return { digest, mediaType };
    }
    const manifest = await this.#fetchManifest(target);
    return { digest: manifest.digest, mediaType: manifest.mediaType };
  }

  async getManifest(ref: string): Promise<Manifest> {
    return this.#fetchManifest(this.#target(ref));
  }

  async manifestExists(ref: string): Promise<boolean> {
    const target = this.#target(ref);
    try {
      await this.#request(target, "HEAD", `manifests/${target.reference}`, MANIFEST_ACCEPT, "manifest");
      return true;
    } catch (err) {
      if (err instanceof RegistryError && err.status === 404) return false;
      throw err;
    }
  }

  async getImageConfig(ref: string, platform?: Platform): Promise<ImageConfig> {
    const target = this.#target(ref);
    const wanted = platform ?? DEFAULT_PLATFORM;
    let manifest = await this.#fetchManifest(target);
    // An index may, rarely, point at another index: follow a few levels.
    for (let depth = 0; manifest.kind === "index"; depth++) {
      if (depth === 3) throw new RegistryError(`index nesting too deep in ${ref}`);
      const chosen = pickPlatform(manifest.manifests, wanted);
      if (chosen === undefined) {
        const available = manifest.manifests.flatMap((d) => (d.platform ? [formatPlatform(d.platform)] : []));
        throw new RegistryError(
          `no ${formatPlatform(wanted)} image in ${ref} (available: ${available.join(", ") || "none"})`,
        );
      }
      manifest = await this.#fetchManifest({ ...target, reference: chosen.digest }, chosen.digest);
    }

    const { digest } = manifest.config;
    const res = await this.#request(target, "GET", `blobs/${digest}`, "*/*", `config blob ${digest}`);
    const bytes = await this.#readBody(target, res, MAX_CONFIG_BYTES);
    verifyDigest(target.ref, `config blob ${digest}`, bytes, digest);
    let config: unknown;
    try {
      config = JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      throw new RegistryError(`config blob ${digest} of ${ref} is not JSON`, { cause: err });
    }
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
      throw new RegistryError(`config blob ${digest} of ${ref} is not a JSON object`);
    }
    const image = config as ImageConfig;
    if (platform !== undefined && (image.os !== platform.os || image.architecture !== platform.architecture)) {
      throw new RegistryError(
        `${ref} is a ${image.os ?? "?"}/${image.architecture ?? "?"} image, not ${formatPlatform(platform)}`,
      );
    }
    return image;
  }

  // ---------------------------------------------------------------- internals

  #target(ref: string): Target {
    const parsed = parseImageRef(ref);
    const apiHost = apiHostOf(parsed.registry);
    const hostname = hostnameOf(parsed.registry).toLowerCase();
    const plain =
      isLoopbackHost(parsed.registry) ||
      this.#insecureHosts.has(parsed.registry) ||
      this.#insecureHosts.has(hostname);
    return {
      ref,
      parsed,
      registry: parsed.registry,
      baseUrl: `${plain ? "http" : "https"}://${apiHost}/v2/${parsed.repository}/`,
      repository: parsed.repository,
      reference: parsed.digest ?? parsed.tag ?? "latest",
    };
  }

  async #fetchManifest(target: Target, expectedDigest = target.parsed.digest): Promise<Manifest> {
    const res = await this.#request(target, "GET", `manifests/${target.reference}`, MANIFEST_ACCEPT, "manifest");
    const bytes = await this.#readBody(target, res, MAX_MANIFEST_BYTES);
    const what = `manifest ${target.reference}`;
    const digest = verifyDigest(target.ref, what, bytes, expectedDigest ?? res.headers.get("docker-content-digest"));
    const raw = new TextDecoder().decode(bytes);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw new RegistryError(`${what} of ${target.ref} is not JSON`, { cause: err });
    }
    const parsed = WireManifest.safeParse(json);
    if (!parsed.success) {
      throw new RegistryError(`${what} of ${target.ref} is not a valid manifest: ${parsed.error.message}`);
    }
    const body = parsed.data;
    const header = contentType(res);
    const mediaType =
      body.mediaType ?? (header !== undefined && header !== "application/json" ? header : undefined) ?? "";
    const annotations = body.annotations ?? {};
    const isIndex = INDEX_TYPES.has(mediaType) || (mediaType === "" && body.manifests !== undefined);
    const isImage = IMAGE_TYPES.has(mediaType) || (mediaType === "" && body.config !== undefined);
    if (isIndex && body.manifests !== undefined) {
      return {
        kind: "index",
        digest,
        mediaType: mediaType || MediaTypes.ociIndex,
        annotations,
        raw,
        manifests: body.manifests.map(toDescriptor),
      };
    }
    if (isImage && body.config !== undefined) {
      return {
        kind: "image",
        digest,
        mediaType: mediaType || MediaTypes.ociManifest,
        annotations,
        raw,
        config: toDescriptor(body.config),
        layers: (body.layers ?? []).map(toDescriptor),
      };
    }
    throw new RegistryError(`${what} of ${target.ref} has unsupported media type "${mediaType || "(none)"}"`);
  }

  /**
   * One API call with the auth dance: send cached auth if any; on 401 read
   * the challenge, get credentials or a token, and retry once. Returns only
   * 2xx responses; everything else becomes a RegistryError.
   */
  /** Every tag of the reference's repository (`GET /v2/<name>/tags/list`); none when the repository is unknown. */
  async listTags(ref: string): Promise<string[]> {
    const target = this.#target(ref);
    let res: Response;
    try {
      res = await this.#request(target, "GET", "tags/list?n=10000", "application/json", "repository");
    } catch (err) {
      if (err instanceof RegistryError && err.status === 404) return [];
      throw err;
    }
    const body = (await res.json().catch(() => undefined)) as { tags?: string[] | null } | undefined;
    return [...(body?.tags ?? [])].sort();
  }

  /** Deletes a manifest by digest (`DELETE /v2/<name>/manifests/<digest>`): every tag on it goes too. */
  async deleteManifest(ref: string): Promise<void> {
    const target = this.#target(ref);
    if (target.parsed.digest === undefined) throw new RegistryError(`delete needs a digest reference, not ${ref}`);
    await this.#request(target, "DELETE", `manifests/${target.parsed.digest}`, MANIFEST_ACCEPT, "manifest");
  }

  // ---------------------------------------------------------------- writes (push by digest, then tag)

  /** Whether the reference's repository holds a blob (`HEAD /v2/<name>/blobs/<digest>`). */
  async blobExists(ref: string, digest: string): Promise<boolean> {
    const target = this.#target(ref);
    try {
      await this.#request(target, "HEAD", `blobs/${digest}`, "*/*", `blob ${digest}`);
      return true;
    } catch (err) {
      if (err instanceof RegistryError && err.status === 404) return false;
      throw err;
    }
  }

  /**
   * Upload one blob in a single request (`POST .../blobs/uploads/`, then `PUT
   * <location>?digest=`), unless the repository has it already. The bytes are
   * checked against the digest first, so a wrong layout fails here, named.
   */
  async putBlob(ref: string, digest: string, data: Uint8Array): Promise<"uploaded" | "exists"> {
    const target = this.#target(ref);
    verifyDigest(ref, `blob ${digest}`, data, digest);
    if (await this.blobExists(ref, digest)) return "exists";
    const started = await this.#request(target, "POST", "blobs/uploads/", "*/*", "blob upload");
    const location = started.headers.get("location");
    await discard(started);
    if (!location) throw new RegistryError(`registry ${target.registry} started an upload to ${target.repository} without a Location`);
    const url = new URL(location, target.baseUrl);
    url.searchParams.set("digest", digest);
    const done = await this.#request(target, "PUT", url.toString(), "*/*", `blob ${digest}`, { data, contentType: "application/octet-stream" });
    await discard(done);
    return "uploaded";
  }

  /**
   * Store a manifest under the reference's tag, or under its digest when the
   * reference has one (a push by digest, which moves no tag). Returns the
   * digest of the bytes, checked against what the registry reports.
   */
  async putManifest(ref: string, raw: Uint8Array, mediaType: string): Promise<string> {
    const target = this.#target(ref);
    const digest = verifyDigest(ref, "manifest", raw, target.parsed.digest);
    const res = await this.#request(target, "PUT", `manifests/${target.reference}`, "*/*", "manifest", { data: raw, contentType: mediaType });
    const reported = res.headers.get("docker-content-digest");
    await discard(res);
    if (reported && reported !== digest) throw new RegistryError(`registry ${target.registry} stored the manifest for ${ref} as ${reported}, not ${digest}`);
    return digest;
  }

  async #request(
    target: Target,
    method: "GET" | "HEAD" | "DELETE" | "PUT" | "POST",
    path: string,
    accept: string,
    what: string,
    body?: { data: Uint8Array; contentType: string },
  ): Promise<Response> {
    // Upload locations come back absolute, or absolute-path relative to the registry.
    const url = /^https?:\/\//.test(path) ? path : path.startsWith("/") ? new URL(path, target.baseUrl).toString() : target.baseUrl + path;
    const action = method === "DELETE" ? "delete" : method === "PUT" || method === "POST" ? "pull,push" : "pull";
    const scope = `repository:${target.repository}:${action}`;
    const tokenKey = `${new URL(url).host}|${scope}`;
    let auth = await this.#cachedAuth(target, tokenKey);
    let res = await this.#send(target, url, method, accept, auth, body);
    // A 401 to a Basic login we already sent means wrong credentials: no retry.
    if (res.status === 401 && auth?.kind !== "basic") {
      await discard(res);
      if (auth?.kind === "bearer") this.#tokens.delete(tokenKey); // revoked or expired early
      auth = await this.#answerChallenge(target, res.headers.get("www-authenticate"), scope, tokenKey);
      res = await this.#send(target, url, method, accept, auth, body);
    }
    if (res.ok) return res;
    throw await this.#httpError(target, res, what);
  }

  async #cachedAuth(target: Target, tokenKey: string): Promise<Auth> {
    const cached = this.#tokens.get(tokenKey);
    if (cached !== undefined) {
      const token = await cached.catch(() => undefined);
      if (token !== undefined && token.expiresAt > this.#now()) return { kind: "bearer", header: `Bearer ${token.value}` };
      if (this.#tokens.get(tokenKey) === cached) this.#tokens.delete(tokenKey);
    }
    if (this.#basicHosts.has(target.registry)) {
      const basic = basicHeader(this.#credentialsFor(target.registry));
      if (basic !== undefined) return { kind: "basic", header: basic };
    }
    return undefined;
  }

  async #answerChallenge(target: Target, header: string | null, scope: string, tokenKey: string): Promise<Auth> {
    const challenges = parseWwwAuthenticate(header ?? "");
    const bearer = challenges.find((c) => c.scheme === "bearer");
    const basic = challenges.find((c) => c.scheme === "basic");
    const credentials = this.#credentialsFor(target.registry);
    if (bearer !== undefined) {
      if (credentials !== undefined && "token" in credentials) {
        return { kind: "bearer", header: `Bearer ${credentials.token}` };
      }
      const pending = this.#fetchToken(target, bearer, scope, credentials);
      this.#tokens.set(tokenKey, pending);
      pending.catch(() => {
        if (this.#tokens.get(tokenKey) === pending) this.#tokens.delete(tokenKey);
      });
      return { kind: "bearer", header: `Bearer ${(await pending).value}` };
    }
    if (basic !== undefined) {
      const value = basicHeader(credentials);
      if (value === undefined) {
        throw new RegistryError(
          `unauthorized: ${target.ref} (HTTP 401): registry ${target.registry} asks for a login and ${
            credentials === undefined ? "none is configured" : "only a token is configured"
          }`,
          { status: 401 },
        );
      }
      this.#basicHosts.add(target.registry);
      return { kind: "basic", header: value };
    }
    throw new RegistryError(
      `unauthorized: ${target.ref} (HTTP 401): unsupported challenge "${header ?? "(no WWW-Authenticate header)"}"`,
      { status: 401 },
    );
  }

  async #fetchToken(
    target: Target,
    challenge: AuthChallenge,
    scope: string,
    credentials: RegistryCredentials | undefined,
  ): Promise<CachedToken> {
    const realm = challenge.params["realm"];
    let url: URL;
    try {
      url = new URL(realm ?? "");
      if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(url.protocol);
    } catch {
      throw new RegistryError(`unauthorized: ${target.ref}: bearer challenge has no usable realm (${realm ?? "none"})`, {
        status: 401,
      });
    }
    if (challenge.params["service"] !== undefined) url.searchParams.set("service", challenge.params["service"]);
    url.searchParams.set("scope", challenge.params["scope"] ?? scope);

    const headers: Record<string, string> = { "user-agent": this.#userAgent, accept: "application/json" };
    // Never send a password in clear text, except to loopback or configured-insecure realms.
    const realmIsSafe =
      url.protocol === "https:" || isLoopbackHost(url.host) || this.#insecureHosts.has(url.host.toLowerCase()) ||
      this.#insecureHosts.has(url.hostname.toLowerCase());
    const basic = realmIsSafe ? basicHeader(credentials) : undefined;
    if (basic !== undefined) headers["authorization"] = basic;

    const res = await this.#fetchOrThrow(target, url.toString(), { method: "GET", headers }, `token realm ${url.host}`);
    if (!res.ok) {
      const detail = await errorDetail(res);
      const status = res.status;
      if (status === 401 || status === 403) {
        throw new RegistryError(`unauthorized: ${target.ref} (HTTP ${status} from token realm ${url.host})${detail}`, {
          status,
        });
      }
      throw new RegistryError(`token realm ${url.host} answered HTTP ${status} for ${target.ref}${detail}`, {
        status,
        temporary: isTemporaryStatus(status),
      });
    }
    const body = TokenResponse.safeParse(await res.json().catch(() => undefined));
    const value = body.success ? (body.data.token ?? body.data.access_token) : undefined;
    if (value === undefined || value === "") {
      throw new RegistryError(`token realm ${url.host} gave no token for ${target.ref}`, { status: res.status });
    }
    const seconds = body.success && body.data.expires_in !== undefined ? body.data.expires_in : DEFAULT_TOKEN_SECONDS;
    // Renew a little early so a token does not expire in flight.
    const margin = Math.min(10, seconds / 2);
    return { value, expiresAt: this.#now() + (seconds - margin) * 1000 };
  }

  async #send(target: Target, url: string, method: string, accept: string, auth: Auth, body?: { data: Uint8Array; contentType: string }): Promise<Response> {
    const headers: Record<string, string> = { accept, "user-agent": this.#userAgent };
    if (auth !== undefined) headers["authorization"] = auth.header;
    if (body !== undefined) headers["content-type"] = body.contentType;
    const init: RequestInit = { method, headers, ...(body !== undefined ? { body: body.data } : method === "POST" || method === "PUT" ? { body: new Uint8Array() } : {}) };
    return this.#fetchOrThrow(target, url, init, `registry ${target.registry}`);
  }

  async #fetchOrThrow(target: Target, url: string, init: RequestInit, who: string): Promise<Response> {
    try {
      return await this.#fetch(url, { ...init, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      throw this.#networkError(target, err, who);
    }
  }

  async #readBody(target: Target, res: Response, limit: number): Promise<Uint8Array> {
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > limit) {
      await discard(res);
      throw new RegistryError(`response for ${target.ref} is ${declared} bytes, over the ${limit}-byte limit`);
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      throw this.#networkError(target, err, `registry ${target.registry}`);
    }
    if (bytes.length > limit) {
      throw new RegistryError(`response for ${target.ref} is ${bytes.length} bytes, over the ${limit}-byte limit`);
    }
    return bytes;
  }

  #networkError(target: Target, err: unknown, who: string): RegistryError {
    if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
      return new RegistryError(`${who} timed out after ${this.#timeoutMs} ms for ${target.ref}`, {
        temporary: true,
        cause: err,
      });
    }
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    return new RegistryError(`${who} unreachable for ${target.ref}: ${cause}`, { temporary: true, cause: err });
  }

  async #httpError(target: Target, res: Response, what: string): Promise<RegistryError> {
    const status = res.status;
    const detail = await errorDetail(res);
    if (status === 404) {
      const message =
        what === "manifest"
          ? `manifest unknown: ${target.ref} (HTTP 404)`
          : `${what} unknown in ${target.ref} (HTTP 404)`;
      return new RegistryError(message + detail, { status });
    }
    if (status === 401 || status === 403) {
      return new RegistryError(`unauthorized: ${target.ref} (HTTP ${status})${detail}`, { status });
    }
    return new RegistryError(`registry ${target.registry} answered HTTP ${status} for ${target.ref}${detail}`, {
      status,
      temporary: isTemporaryStatus(status),
    });
  }
}

export function createDistributionClient(options: DistributionClientOptions = {}): Registry {
  return new DistributionClient(options);
}

// ---------------------------------------------------------------- helpers

function isTemporaryStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

function basicHeader(credentials: RegistryCredentials | undefined): string | undefined {
  if (credentials === undefined || !("username" in credentials)) return undefined;
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, "utf8").toString("base64")}`;
}

function contentType(res: Response): string | undefined {
  const value = res.headers.get("content-type");
  return value === null ? undefined : value.split(";")[0]!.trim().toLowerCase();
}

/** `: CODE message` from a Distribution error body, or "" when there is none. */
async function errorDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  if (text === "") return "";
  try {
    const parsed = RegistryErrors.safeParse(JSON.parse(text));
    if (parsed.success && parsed.data.errors.length > 0) {
      return `: ${parsed.data.errors.map((e) => [e.code, e.message].filter(Boolean).join(" ")).join("; ")}`;
    }
  } catch {
    // not JSON
  }
  return `: ${text.slice(0, 200).trim()}`;
}

async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

/**
 * Hashes `bytes` with the algorithm of `expected` (sha256 when there is no
 * expectation) and checks it. Returns the digest.
 */
function verifyDigest(ref: string, what: string, bytes: Uint8Array, expected: string | null | undefined): string {
  const algorithm = expected?.split(":")[0] ?? "sha256";
  if (!["sha256", "sha384", "sha512"].includes(algorithm)) {
    throw new RegistryError(`${what} of ${ref} has a digest with unsupported algorithm "${algorithm}"`);
  }
  const actual = `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
  if (expected !== undefined && expected !== null && expected !== actual) {
    throw new RegistryError(`${what} of ${ref}: content hashes to ${actual}, expected ${expected}`);
  }
  return actual;
}

function toDescriptor(d: z.infer<typeof WireDescriptor>): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.platform !== undefined) {
    out.platform = { os: d.platform.os, architecture: d.platform.architecture };
    if (d.platform.variant !== undefined) out.platform.variant = d.platform.variant;
  }
  if (d.annotations !== undefined) out.annotations = d.annotations;
  return out;
}

/**
 * The index entry for `wanted`: same os and architecture, and the same
 * variant when one is asked for; otherwise an entry without a variant is
 * preferred over the first with one.
 */
export function pickPlatform(manifests: readonly Descriptor[], wanted: Platform): Descriptor | undefined {
  const matches = manifests.filter(
    (d) =>
      d.platform !== undefined &&
      d.platform.os === wanted.os &&
      d.platform.architecture === wanted.architecture &&
      (wanted.variant === undefined || d.platform.variant === wanted.variant),
  );
  return matches.find((d) => d.platform?.variant === undefined) ?? matches[0];
}

function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant === undefined ? "" : `/${p.variant}`}`;
}
