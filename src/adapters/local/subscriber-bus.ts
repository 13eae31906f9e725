/**
 * Local EventBus: CloudEvents go into the store's outbox first (so a restart
 * loses none), then to every registered HTTP subscriber, in binary or
 * structured mode, signed with `X-Cascade-Signature-256: sha256=<hmac>` over
 * the body, and retried with exponential backoff until delivered or dead.
 */
import { CloudEvent, HTTP } from "cloudevents";
import type { Logger } from "pino";
import type { CascadeEvent } from "../../core/events-out.js";
import { hmacSha256Hex } from "../../core/webhook-signature.js";
import type { Clock } from "../../ports/clock.js";
import type { EventBus } from "../../ports/event-bus.js";
import type { Store, Subscriber } from "../../ports/store.js";

export interface SubscriberBusOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  /** First retry delay; doubles on each failure. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  pollMs?: number;
}

export const SIGNATURE_HEADER = "x-cascade-signature-256";

/** Wire form of one event for one subscriber: headers and body, signature included. */
export function encodeForSubscriber(event: CascadeEvent, sub: Pick<Subscriber, "mode" | "secret">) {
  const ce = new CloudEvent({ ...event });
  const msg = sub.mode === "structured" ? HTTP.structured(ce) : HTTP.binary(ce);
  const body = typeof msg.body === "string" ? msg.body : JSON.stringify(msg.body);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) headers[k] = String(v);
  headers[SIGNATURE_HEADER] = `sha256=${hmacSha256Hex(sub.secret, body)}`;
  return { headers, body };
}

export class SubscriberBus implements EventBus {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly o: SubscriberBusOptions) {}

  async publish(events: readonly CascadeEvent[]): Promise<void> {
    const now = this.o.clock.now().toISOString();
    for (const e of events) await this.o.store.enqueueEvent(e.id, JSON.stringify(e), now);
    this.kick();
  }

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = setTimeout(tick, this.o.pollMs ?? 500);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Deliver everything due now; returns when the outbox has nothing due. */
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.deliverDue();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async deliverDue(): Promise<void> {
    const { store, clock, log } = this.o;
    const subs = new Map((await store.listSubscribers()).map((s) => [s.id, s]));
    const due = await store.dueDeliveries(clock.now().toISOString(), 100);
    for (const d of due) {
      const sub = subs.get(d.subscriberId);
      if (!sub) {
        await store.markDeliveryFailed(d.seq, "subscriber removed", undefined);
        continue;
      }
      const event = JSON.parse(d.event) as CascadeEvent;
      const { headers, body } = encodeForSubscriber(event, sub);
      let error: string | undefined;
      try {
        const res = await fetch(sub.url, {
          method: "POST",
          headers: { ...headers, "x-cascade-delivery": String(d.seq) },
          body,
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 5000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) error = `HTTP ${res.status}`;
      } catch (e) {
        error = (e as Error).message;
      }
      if (!error) {
        await store.markDelivered(d.seq, clock.now().toISOString());
        log.debug({ event: event.type, subscriber: sub.url }, "event delivered");
        continue;
      }
      const attempts = d.attempts + 1;
      const max = this.o.maxAttempts ?? 10;
      const delay = Math.min((this.o.baseDelayMs ?? 500) * 2 ** (attempts - 1), this.o.maxDelayMs ?? 60_000);
      const next = attempts >= max ? undefined : new Date(clock.now().getTime() + delay).toISOString();
      await store.markDeliveryFailed(d.seq, error, next);
      log.warn({ event: event.type, subscriber: sub.url, attempts, error, retryAt: next }, "event delivery failed");
    }
  }
}
