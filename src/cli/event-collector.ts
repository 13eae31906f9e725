/**
 * A tiny CloudEvents subscriber on loopback: verifies Cascade's HMAC header,
 * parses each request with the `cloudevents` SDK and keeps the events. The
 * demo uses it to show what a subscriber receives; tests use it to assert.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { HTTP, type CloudEvent } from "cloudevents";
import { verifySha256Signature } from "../core/webhook-signature.js";

export interface EventCollector {
  url: string;
  secret: string | undefined;
  events: CloudEvent<unknown>[];
  rejected: number;
  /** Fail the next N requests with HTTP 503 (to exercise retries). */
  failNext: number;
  waitFor(types: string[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startEventCollector(): Promise<EventCollector> {
  const waiters = new Set<() => void>();
  const c: EventCollector = {
    url: "",
    secret: undefined,
    events: [],
    rejected: 0,
    failNext: 0,
    waitFor(types, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (types.every((t) => c.events.some((e) => e.type === t))) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`events ${types.join(", ")} not all received in ${timeoutMs}ms; got ${c.events.map((e) => e.type).join(", ")}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (x: Buffer) => chunks.push(x));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (c.failNext > 0) {
        c.failNext--;
        res.writeHead(503).end();
        return;
      }
      const sig = req.headers["x-cascade-signature-256"];
      if (c.secret && !verifySha256Signature(c.secret, body, Array.isArray(sig) ? sig[0] : sig)) {
        c.rejected++;
        res.writeHead(401).end();
        return;
      }
      try {
        const ev = HTTP.toEvent({ headers: req.headers as Record<string, string>, body: body.toString("utf8") });
        for (const e of Array.isArray(ev) ? ev : [ev]) c.events.push(e as CloudEvent<unknown>);
        res.writeHead(204).end();
        for (const w of [...waiters]) w();
      } catch {
        c.rejected++;
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  c.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return c;
}
