/**
 * The local HTTP server: node:http in front of the shared router, plus the
 * one route a router cannot express, a build log that streams while the
 * build runs (`GET /builds/{id}/log?follow=1`).
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isTerminal } from "../../core/build.js";
import { route, type ApiDeps } from "../../runtime/api.js";
import type { HttpRequest, HttpResponse } from "../../runtime/http.js";
import { errorResponse } from "../../runtime/ingest.js";

const MAX_BODY = 10 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error(`request body larger than ${MAX_BODY} bytes`), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, r: HttpResponse): void {
  const isText = typeof r.body === "string";
  const payload = r.body === undefined ? "" : isText ? (r.body as string) : JSON.stringify(r.body, null, 2) + "\n";
  res.writeHead(r.status, {
    "content-type": isText ? "text/plain; charset=utf-8" : "application/json",
    ...r.headers,
  });
  res.end(payload);
}

/** Stream a build log; with follow, keep streaming until the build finishes. */
async function streamLog(deps: ApiDeps, ref: string, follow: boolean, res: ServerResponse) {
  const first = await deps.store.findBuild(ref);
  if (!first) return send(res, { status: 404, body: { error: "NotFound", message: `build "${ref}" not found` } });
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "x-build-phase": first.phase });
  let offset = 0;
  const pump = async () => {
    const path = first.logPath;
    if (!path || !existsSync(path)) return;
    const size = statSync(path).size;
    if (size <= offset) return;
    await new Promise<void>((resolve, reject) => {
      const s = createReadStream(path, { start: offset, end: size - 1 });
      s.on("data", (c) => res.write(c));
      s.on("end", () => resolve());
      s.on("error", reject);
    });
    offset = size;
  };
  let closed = false;
  res.on("close", () => (closed = true));
  for (;;) {
    await pump();
    const b = await deps.store.getBuild(first.namespace, first.id);
    if (!follow || !b || isTerminal(b.phase) || closed) {
      await pump();
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  res.end();
}

export function createHttpServer(deps: ApiDeps): Server {
  return createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? "/", "http://localhost");
        const logMatch = /^\/builds\/([^/]+(?:\/[^/]+)?)\/log$/.exec(url.pathname);
        if (req.method === "GET" && logMatch) {
          await streamLog(deps, decodeURIComponent(logMatch[1]!), ["1", "true"].includes(url.searchParams.get("follow") ?? ""), res);
          return;
        }
        const request: HttpRequest = {
          method: req.method ?? "GET",
          path: url.pathname.replace(/\/+$/, "") || "/",
          query: url.searchParams,
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v])),
          body: await readBody(req),
        };
        send(res, await route(deps, request));
      } catch (e) {
        const status = (e as { status?: number }).status;
        if (res.headersSent) return void res.end();
        send(res, status ? { status, body: { error: "RequestTooLarge", message: (e as Error).message } } : errorResponse(e));
      }
    })();
  });
}

export function listen(server: Server, port: number, host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "EADDRINUSE" ? new Error(`port ${port} on ${host} is already in use (set CASCADE_PORT or --port)`) : e),
    );
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}
