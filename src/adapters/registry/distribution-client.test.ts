import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RegistryError } from "../../core/errors.js";
import type { Descriptor } from "../../ports/registry.js";
import {
  DistributionClient,
  isLoopbackHost,
  parseWwwAuthenticate,
  pickPlatform,
  type DistributionClientOptions,
} from "./distribution-client.js";

describe("parseWwwAuthenticate", () => {
  it("reads a bearer challenge whose scope holds a comma", () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.registry.test/token",service="registry.test",scope="repository:team/app:pull,push"',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: { realm: "https://auth.registry.test/token", service: "registry.test", scope: "repository:team/app:pull,push" },
      },
    ]);
  });

  it("reads a basic challenge, lowercasing the scheme and parameter names", () => {
    expect(parseWwwAuthenticate('BASIC Realm="cascade-registry"')).toEqual([
      { scheme: "basic", params: { realm: "cascade-registry" } },
    ]);
  });

  it("unescapes quoted values and accepts bare tokens and spaces around '='", () => {
    expect(parseWwwAuthenticate('Bearer realm = "a \\"quoted\\" realm" , error=insufficient_scope')).toEqual([
      { scheme: "bearer", params: { realm: 'a "quoted" realm', error: "insufficient_scope" } },
    ]);
  });

  it("splits several challenges in one header", () => {
    expect(parseWwwAuthenticate('Basic realm="a", Bearer realm="http://127.0.0.1/t",service="s"')).toEqual([
      { scheme: "basic", params: { realm: "a" } },
      { scheme: "bearer", params: { realm: "http://127.0.0.1/t", service: "s" } },
    ]);
  });

  it("gives nothing for an empty or garbage header, and stops at an unterminated quote", () => {
    expect(parseWwwAuthenticate("")).toEqual([]);
    expect(parseWwwAuthenticate(" ,= ")).toEqual([]);
    expect(parseWwwAuthenticate('Bearer realm="http://x/t", service="unterminated')).toEqual([
      { scheme: "bearer", params: { realm: "http://x/t" } },
    ]);
  });
});

describe("hosts and platforms", () => {
  it("treats 127.0.0.0/8, localhost and [::1] as loopback, with or without a port", () => {
    for (const host of ["127.0.0.1", "127.1.2.3:5000", "localhost", "localhost:5000", "[::1]:5000"]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ["128.0.0.1:5000", "registry.internal", "127.example.test"]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it("uses http for loopback and insecure hosts, https otherwise, and the API host for docker.io", async () => {
    const urls: string[] = [];
    const spy: typeof fetch = async (input) => {
      urls.push(String(input));
      return new Response(null, { status: 404 });
    };
    const client = new DistributionClient({ fetch: spy, insecureHosts: ["registry.internal:5000", "plain.internal"] });
    for (const ref of [
      "127.0.0.1:5000/a:1",
      "localhost:5000/a:1",
      "[::1]:5000/a:1",
      "registry.internal:5000/a:1",
      "plain.internal:6000/a:1",
      "secure.internal:5000/a:1",
      "node:20",
    ]) {
      expect(await client.manifestExists(ref)).toBe(false);
    }
    expect(urls).toEqual([
      "http://127.0.0.1:5000/v2/a/manifests/1",
      "http://localhost:5000/v2/a/manifests/1",
      "http://[::1]:5000/v2/a/manifests/1",
      "http://registry.internal:5000/v2/a/manifests/1",
      "http://plain.internal:6000/v2/a/manifests/1",
      "https://secure.internal:5000/v2/a/manifests/1",
      "https://registry-1.docker.io/v2/library/node/manifests/20",
    ]);
  });

  it("picks the requested platform from an index, preferring an entry without a variant", () => {
    const d = (os: string, architecture: string, variant?: string): Descriptor => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: `sha256:${os}-${architecture}-${variant ?? ""}`,
      size: 1,
      platform: variant === undefined ? { os, architecture } : { os, architecture, variant },
    });
    const list = [d("unknown", "unknown"), d("linux", "arm", "v6"), d("linux", "arm", "v7"), d("linux", "amd64")];
    expect(pickPlatform(list, { os: "linux", architecture: "amd64" })).toBe(list[3]);
    expect(pickPlatform(list, { os: "linux", architecture: "arm", variant: "v7" })).toBe(list[2]);
    expect(pickPlatform(list, { os: "linux", architecture: "arm" })).toBe(list[1]);
    expect(pickPlatform(list, { os: "windows", architecture: "amd64" })).toBeUndefined();
  });
});

/**
 * A small stand-in that speaks the real protocol: a registry that answers
 * 401 with a Bearer (or, under `basic/`, a Basic) challenge, and a token
 * realm on the same server.
 */
describe("DistributionClient against a token-realm stand-in", () => {
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"0".repeat(64)}`, size: 2 },
      layers: [],
    }),
  );
  const manifestDigest = `sha256:${createHash("sha256").update(manifest).digest("hex")}`;
  /** A digest the stand-in answers with the bytes of another manifest. */
  const tamperedDigest = `sha256:${"1".repeat(64)}`;
  const login = { username: "alice", password: "s3cret:with-colon" };
  const basicLogin = `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;

  let server: Server;
  let hostPort: string;
  let tokenRequests: Array<{ authorization: string | undefined; query: URLSearchParams }>;
  let registryRequests: Array<{ method: string; path: string; authorization: string | undefined }>;
  let validTokens: Set<string>;
  let sendDigestHeader: boolean;
  let realmStatus: number;

  beforeAll(async () => {
    server = createServer((req, res) => handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    hostPort = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    tokenRequests = [];
    registryRequests = [];
    validTokens = new Set();
    sendDigestHeader = true;
    realmStatus = 200;
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", `http://${hostPort}`);
    const authorization = req.headers.authorization;
    if (url.pathname === "/token") {
      tokenRequests.push({ authorization, query: url.searchParams });
      if (realmStatus !== 200 || (authorization !== undefined && authorization !== basicLogin)) {
        res.writeHead(realmStatus === 200 ? 401 : realmStatus).end();
        return;
      }
      const token = `token-${tokenRequests.length}`;
      validTokens.add(token);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    registryRequests.push({ method: req.method ?? "", path: url.pathname, authorization });
    const [, , repo, kind, reference] = /^\/v2\/(([a-z/]+)\/)?(manifests|blobs)\/(.+)$/.exec(url.pathname) ?? [];
    const basicRepo = repo?.startsWith("basic/") === true;
    const authorized = basicRepo
      ? authorization === basicLogin
      : validTokens.has(authorization?.replace(/^Bearer /, "") ?? "") || authorization === "Bearer given-token";
    if (!authorized) {
      const challenge = basicRepo
        ? 'Basic realm="stand-in"'
        : `Bearer realm="http://${hostPort}/token",service="stand-in",scope="repository:${repo}:pull"`;
      res.writeHead(401, { "www-authenticate": challenge, "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
      return;
    }
    if (repo === "team/flaky") return void res.writeHead(503).end("upstream down");
    if (repo === "team/busy") return void res.writeHead(429).end();
    if (repo === "team/slow") return; // never answers
    if (kind === "manifests" && (reference === "v1" || reference === manifestDigest || reference === tamperedDigest)) {
      const headers: Record<string, string | number> = {
        "content-type": "application/vnd.oci.image.manifest.v1+json",
        "content-length": manifest.length,
      };
      if (sendDigestHeader) headers["docker-content-digest"] = manifestDigest;
      res.writeHead(200, headers).end(req.method === "HEAD" ? undefined : manifest);
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }));
  }

  const client = (options: DistributionClientOptions = {}) => new DistributionClient({ timeoutMs: 2_000, ...options });
  const rejection = async (promise: Promise<unknown>): Promise<RegistryError> => {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RegistryError);
    return err as RegistryError;
  };

  it("fetches an anonymous token for the challenged scope, then reuses it", async () => {
    const registry = client();
    const ref = `${hostPort}/team/app:v1`;
    const first = await registry.getManifest(ref);
    expect(first).toMatchObject({ kind: "image", digest: manifestDigest, layers: [] });
    expect(first.raw).toBe(manifest.toString());

    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]!.authorization).toBeUndefined();
    expect(tokenRequests[0]!.query.get("service")).toBe("stand-in");
    expect(tokenRequests[0]!.query.get("scope")).toBe("repository:team/app:pull");
    expect(registryRequests.map((r) => r.authorization)).toEqual([undefined, "Bearer token-1"]);

    await registry.resolveDigest(ref);
    expect(tokenRequests).toHaveLength(1);
    expect(registryRequests.at(-1)).toMatchObject({ method: "HEAD", authorization: "Bearer token-1" });
  });

  it("logs in to the realm with the host's basic credentials", async () => {
    const asked: string[] = [];
    const registry = client({
      credentialsFor: (host) => {
        asked.push(host);
        return login;
      },
    });
    await registry.getManifest(`${hostPort}/team/app:v1`);
    expect(asked).toContain(hostPort);
    expect(tokenRequests.map((t) => t.authorization)).toEqual([basicLogin]);
  });

  it("fetches a new token once the cached one has expired", async () => {
    let now = 1_000_000;
    const registry = client({ now: () => now });
    const ref = `${hostPort}/team/app:v1`;
    await registry.resolveDigest(ref);
    now += 200_000; // within expires_in 300 s
    await registry.resolveDigest(ref);
    expect(tokenRequests).toHaveLength(1);
    now += 200_000;
    await registry.resolveDigest(ref);
    expect(tokenRequests).toHaveLength(2);
    expect(registryRequests.at(-1)!.authorization).toBe("Bearer token-2");
  });

  it("retries with a fresh token when the registry rejects a cached one", async () => {
    const registry = client();
    const ref = `${hostPort}/team/app:v1`;
    await registry.resolveDigest(ref);
    validTokens.clear(); // revoked
    await registry.resolveDigest(ref);
    expect(tokenRequests).toHaveLength(2);
  });

  it("sends a configured token as it is, without asking the realm", async () => {
    const registry = client({ credentialsFor: () => ({ token: "given-token" }) });
    expect(await registry.manifestExists(`${hostPort}/team/app:v1`)).toBe(true);
    expect(tokenRequests).toHaveLength(0);
  });

  it("fails as unauthorized, not temporary, when the realm refuses the login", async () => {
    const registry = client({ credentialsFor: () => ({ username: "alice", password: "wrong" }) });
    const err = await rejection(registry.getManifest(`${hostPort}/team/app:v1`));
    expect(err.message).toMatch(new RegExp(`^unauthorized: ${hostPort}/team/app:v1 \\(HTTP 401 from token realm`));
    expect(err.temporary).toBe(false);
    expect(err.status).toBe(401);
  });

  it("treats a failing token realm as temporary", async () => {
    realmStatus = 503;
    const err = await rejection(client().getManifest(`${hostPort}/team/app:v1`));
    expect(err).toMatchObject({ status: 503, temporary: true });
  });

  it("answers a Basic challenge with the basic login, and sends it up front afterwards", async () => {
    const registry = client({ credentialsFor: () => login });
    const ref = `${hostPort}/basic/app:v1`;
    expect(await registry.resolveDigest(ref)).toEqual({
      digest: manifestDigest,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
    });
    await registry.resolveDigest(ref);
    expect(registryRequests.map((r) => r.authorization)).toEqual([undefined, basicLogin, basicLogin]);
    expect(tokenRequests).toHaveLength(0);
  });

  it("fails as unauthorized on a Basic challenge with wrong or no credentials", async () => {
    const ref = `${hostPort}/basic/app:v1`;
    const wrong = await rejection(client({ credentialsFor: () => ({ ...login, password: "nope" }) }).getManifest(ref));
    expect(wrong).toMatchObject({ status: 401, temporary: false });
    expect(wrong.message).toMatch(/^unauthorized: .*basic\/app:v1 \(HTTP 401\)/);
    const none = await rejection(client().getManifest(ref));
    expect(none.message).toMatch(/asks for a login and none is configured/);
  });

  it("falls back to GET and hashes the bytes when HEAD has no Docker-Content-Digest", async () => {
    sendDigestHeader = false;
    const result = await client().resolveDigest(`${hostPort}/team/app:v1`);
    expect(result).toEqual({ digest: manifestDigest, mediaType: "application/vnd.oci.image.manifest.v1+json" });
    expect(registryRequests.filter((r) => r.authorization !== undefined).map((r) => r.method)).toEqual(["HEAD", "GET"]);
  });

  it("checks the bytes of a manifest fetched by digest", async () => {
    sendDigestHeader = false;
    const ref = `${hostPort}/team/app@${manifestDigest}`;
    expect((await client().getManifest(ref)).digest).toBe(manifestDigest);

    const tampered = await rejection(client().getManifest(`${hostPort}/team/app@${tamperedDigest}`));
    expect(tampered.message).toMatch(`content hashes to ${manifestDigest}, expected ${tamperedDigest}`);
    expect(tampered.temporary).toBe(false);
  });

  it("maps 404 to a non-temporary 'manifest unknown' naming the reference", async () => {
    const ref = `${hostPort}/team/app:missing`;
    const err = await rejection(client().getManifest(ref));
    expect(err.message).toBe(`manifest unknown: ${ref} (HTTP 404): MANIFEST_UNKNOWN manifest unknown`);
    expect(err).toMatchObject({ status: 404, temporary: false, code: "RegistryError" });
    expect(await client().manifestExists(ref)).toBe(false);
  });

  it("maps 5xx and 429 to temporary errors naming the reference and status", async () => {
    const flaky = await rejection(client().getManifest(`${hostPort}/team/flaky:v1`));
    expect(flaky.message).toBe(`registry ${hostPort} answered HTTP 503 for ${hostPort}/team/flaky:v1: upstream down`);
    expect(flaky).toMatchObject({ status: 503, temporary: true });
    const busy = await rejection(client().manifestExists(`${hostPort}/team/busy:v1`));
    expect(busy).toMatchObject({ status: 429, temporary: true });
  });

  it("maps timeouts and refused connections to temporary errors", async () => {
    const slow = await rejection(client({ timeoutMs: 300 }).getManifest(`${hostPort}/team/slow:v1`));
    expect(slow.message).toMatch(/timed out after 300 ms for .*team\/slow:v1/);
    expect(slow.temporary).toBe(true);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await rejection(client().getManifest(`127.0.0.1:${port}/team/app:v1`));
    expect(refused.message).toMatch(new RegExp(`unreachable for 127\\.0\\.0\\.1:${port}/team/app:v1: .*ECONNREFUSED`));
    expect(refused).toMatchObject({ temporary: true, status: undefined });
  });
});
