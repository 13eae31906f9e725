/**
 * Test helper: a private git server on loopback. Real git smart HTTP, served
 * by git's own `git http-backend` (CGI) behind HTTP basic auth: a request
 * without the right user and password gets a 401 challenge, as a hosted
 * provider answers for a private repository.
 */
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";

export interface GitHttpServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Requests answered 401. */
  refused: number;
  /** Authorization headers seen, to prove credentials travelled only there. */
  close(): Promise<void>;
}

const BACKEND = "/usr/lib/git-core/git-http-backend";

export async function startGitHttpServer(o: { root: string; username: string; password: string }): Promise<GitHttpServer> {
  const expected = Buffer.from(`Basic ${Buffer.from(`${o.username}:${o.password}`).toString("base64")}`);
  const server: GitHttpServer = { url: "", refused: 0, close: async () => undefined };
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const got = Buffer.from(req.headers.authorization ?? "");
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      server.refused++;
      res.writeHead(401, { "www-authenticate": 'Basic realm="private git"' });
      res.end("authentication required\n");
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const child = spawn(BACKEND, [], {
      env: {
        GIT_PROJECT_ROOT: o.root,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: req.headers["content-encoding"] } : {}),
        ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
        REMOTE_USER: o.username,
        REMOTE_ADDR: "127.0.0.1",
        PATH: process.env.PATH ?? "/usr/bin:/bin",
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let sent = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (sent) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const i = line.indexOf(":");
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === "status") status = Number(v.split(" ")[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      sent = true;
      res.write(head.subarray(end + 4));
    });
    child.on("close", () => res.end());
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  server.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  server.close = () =>
    new Promise<void>((r) => {
      http.closeAllConnections();
      http.close(() => r());
    });
  return server;
}
