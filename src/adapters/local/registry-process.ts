/**
 * Runs a local CNCF Distribution registry (Debian's `docker-registry`, 2.8) as
 * a child process, for `cascade up`, the demo and integration tests.
 *
 * Hand-written because it is a config file, an htpasswd file and a spawn:
 * no npm package manages a Distribution process, and container-based test
 * helpers would need a container engine this machine does not run.
 *
 * Layout under `dir`:
 *   config.yml        generated on every start
 *   htpasswd          bcrypt entry for the generated user (mode 0600)
 *   credentials.json  {username, password}, generated once and reused (mode 0600)
 *   data/             filesystem storage (survives restarts)
 *   registry.log      the registry's stdout and stderr (appended)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, writeFile } from "node:fs/promises";
import { createServer, isIP } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { CascadeError, ValidationError } from "../../core/errors.js";

export interface RegistryNotificationEndpoint {
  url: string;
  headers?: Record<string, string>;
}

export interface StartRegistryOptions {
  /** State folder for config, credentials, storage and log. Created if missing. */
  dir: string;
  /** TCP port. The registry cannot listen on port 0: use `findFreePort()` for a free one. */
  port: number;
  /** Listen address; must be a loopback address. Default `127.0.0.1`. */
  host?: string;
  /** Distribution webhook endpoints that receive push/pull event envelopes. */
  notifications?: RegistryNotificationEndpoint[];
  /** How long to wait for the registry to answer `GET /v2/`. Default 15 s. */
  readyTimeoutMs?: number;
  /** The registry binary. Default `docker-registry` from PATH. */
  binary?: string;
}

export interface RegistryLogin {
  username: string;
  password: string;
}

export interface RunningRegistry {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, the registry part of image references. */
  hostPort: string;
  credentials: RegistryLogin;
  logFile: string;
  /** SIGTERM, then SIGKILL after a grace period. Idempotent. */
  stop(): Promise<void>;
}

const USERNAME = "cascade";
const STOP_GRACE_MS = 5_000;

/** Binds 127.0.0.1:0, reads the port the kernel chose, and closes. */
export function findFreePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : undefined;
      server.close(() => (port === undefined ? reject(new Error("could not read the bound port")) : resolve(port)));
    });
  });
}

export async function startRegistry(options: StartRegistryOptions): Promise<RunningRegistry> {
  const host = options.host ?? "127.0.0.1";
  const { dir, port } = options;
  if (!isLoopback(host)) {
    throw new ValidationError(`registry host "${host}" is not a loopback address (use 127.0.0.1, ::1 or localhost)`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError(`registry port ${port} is not a TCP port between 1 and 65535 (port 0 is not supported; use findFreePort())`);
  }

  const dataDir = join(dir, "data");
  await mkdir(dataDir, { recursive: true });
  const credentials = await loadOrCreateCredentials(join(dir, "credentials.json"));
  const htpasswdFile = join(dir, "htpasswd");
  await writePrivate(htpasswdFile, await bcryptEntry(credentials));

  const hostPort = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const configFile = join(dir, "config.yml");
  await writeFile(
    configFile,
    renderConfig({ listen: hostPort, dataDir, htpasswdFile, notifications: options.notifications ?? [] }),
  );

  // The registry would fail to bind too, but only after we might have mistaken
  // another process's 401 on that port for ours: check first, and name the port.
  await assertPortFree(host, port);

  const logFile = join(dir, "registry.log");
  const log = await open(logFile, "a");
  let child: ChildProcess;
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  let exitPromise: Promise<void>;
  try {
    child = spawn(options.binary ?? "docker-registry", ["serve", configFile], {
      stdio: ["ignore", log.fd, log.fd],
    });
    // Listen before any await, or a fast exit goes unseen.
    exitPromise = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        exited = { code, signal };
        resolve();
      });
      child.once("error", (err) => {
        spawnError = err;
        exited ??= { code: null, signal: null };
        resolve();
      });
    });
  } finally {
    await log.close();
  }
  // Do not leave an orphan registry behind if this process exits without stop().
  const killOnExit = () => {
    if (exited === undefined) child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener("exit", killOnExit);
    if (exited !== undefined) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (exited === undefined) child.kill("SIGKILL");
    }, STOP_GRACE_MS);
    await exitPromise;
    clearTimeout(timer);
  };

  const url = `http://${hostPort}`;
  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      process.removeListener("exit", killOnExit);
      const tail = await logTail(logFile);
      if (spawnError !== undefined) {
        throw new CascadeError("RegistryStartFailed", `could not run the registry binary: ${spawnError.message}`, {
          cause: spawnError,
        });
      }
      if (/address already in use/i.test(tail)) {
        throw new CascadeError("RegistryStartFailed", `registry port ${port} on ${host} is already in use`);
      }
      throw new CascadeError(
        "RegistryStartFailed",
        `registry on port ${port} exited (${exited.signal ?? `code ${exited.code}`}) before it was ready; last lines of ${logFile}:\n${tail}`,
      );
    }
    const status = await probe(`${url}/v2/`);
    if (status === 401) break;
    if (Date.now() > deadline) {
      await stop();
      throw new CascadeError(
        "RegistryStartFailed",
        `registry on port ${port} did not answer GET /v2/ with 401 within ${timeoutMs} ms` +
          (status === undefined ? "" : ` (last status ${status})`) +
          `; last lines of ${logFile}:\n${await logTail(logFile)}`,
      );
    }
    await Promise.race([exitPromise, sleep(100)]);
  }

  return { url, hostPort, credentials, logFile, stop };
}

function renderConfig(input: {
  listen: string;
  dataDir: string;
  htpasswdFile: string;
  notifications: RegistryNotificationEndpoint[];
}): string {
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: "info", formatter: "text", fields: { service: "registry" } },
    storage: {
      filesystem: { rootdirectory: input.dataDir },
      delete: { enabled: true },
      cache: { blobdescriptor: "inmemory" },
    },
    http: {
      addr: input.listen,
      // Setting a secret silences the "No HTTP secret provided" warning; it only
      // signs upload state, and one process serves every upload.
      secret: randomBytes(24).toString("base64url"),
      headers: { "X-Content-Type-Options": ["nosniff"] },
    },
    auth: { htpasswd: { realm: "cascade-registry", path: input.htpasswdFile } },
  };
  if (input.notifications.length > 0) {
    config["notifications"] = {
      events: { includereferences: true },
      endpoints: input.notifications.map((endpoint, i) => ({
        name: `cascade-${i + 1}`,
        url: endpoint.url,
        // Distribution's headers are http.Header: every value is a list.
        headers: Object.fromEntries(Object.entries(endpoint.headers ?? {}).map(([k, v]) => [k, [v]])),
        timeout: "2s",
        threshold: 5,
        backoff: "1s",
      })),
    };
  }
  return `# Generated by Cascade on every start; edits are overwritten.\n${stringify(config)}`;
}

async function loadOrCreateCredentials(file: string): Promise<RegistryLogin> {
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (text !== undefined) {
    const parsed = JSON.parse(text) as Partial<RegistryLogin>;
    if (typeof parsed.username !== "string" || typeof parsed.password !== "string" || parsed.password === "") {
      throw new ValidationError(`${file} must hold {"username": string, "password": string}`);
    }
    return { username: parsed.username, password: parsed.password };
  }
  const created = { username: USERNAME, password: randomBytes(24).toString("base64url") };
  await writePrivate(file, `${JSON.stringify(created, null, 2)}\n`);
  return created;
}

/** `htpasswd -Bni`: bcrypt, password on stdin so it never shows in a process list. */
function bcryptEntry({ username, password }: RegistryLogin): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("htpasswd", ["-Bni", username], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.once("error", (e) => reject(new CascadeError("RegistryStartFailed", `could not run htpasswd: ${e.message}`, { cause: e })));
    child.once("close", (code) => {
      const line = out.trim();
      if (code === 0 && line.startsWith(`${username}:$2`)) resolve(`${line}\n`);
      else reject(new CascadeError("RegistryStartFailed", `htpasswd exited with code ${code}: ${err.trim()}`));
    });
    child.stdin.end(`${password}\n`);
  });
}

async function writePrivate(file: string, content: string): Promise<void> {
  await writeFile(file, content, { mode: 0o600 });
  await chmod(file, 0o600); // mode applies only on create
}

function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "EADDRINUSE"
          ? new CascadeError("RegistryStartFailed", `registry port ${port} on ${host} is already in use`)
          : new CascadeError("RegistryStartFailed", `cannot listen on ${host}:${port}: ${err.message}`, { cause: err }),
      );
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

async function probe(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}

async function logTail(file: string, lines = 20): Promise<string> {
  try {
    return (await readFile(file, "utf8")).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
