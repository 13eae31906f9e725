/**
 * The AWS EventBus: Cascade's CloudEvents go to an EventBridge bus with
 * PutEvents. Each event is one entry: Source = the event's `source`,
 * DetailType = its `type`, Time = its `time`, and Detail = the CloudEvent in
 * its structured JSON form (so a rule's target can parse it back with any
 * CloudEvents SDK, id included). Entries go in batches of at most 10 and
 * under 256 KiB (PutEvents' limits, sized as EventBridge counts them). Entries that
 * EventBridge reports failed (`FailedEntryCount`, `Entries[i].ErrorCode`), and
 * whole calls that fail temporarily (throttling, 5xx, network), are retried
 * with exponential backoff, only the failed entries, up to `maxAttempts`
 * calls per batch; then a temporary CascadeError names each event id left
 * with its error code. A retried entry gets a new EventBridge id, but keeps
 * its CloudEvent id, which consumers deduplicate on.
 *
 * The same bus carries the normalised events in (`cascade.image.updated`,
 * from the `image-pushed` and `poll-bases` functions to `plan`).
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { CloudEvent } from "cloudevents";
import type { CascadeEvent } from "../../core/events-out.js";
import { CascadeError } from "../../core/errors.js";
import type { ImageUpdatedEvent } from "../../core/image-updated.js";
import type { EventBus } from "../../ports/event-bus.js";

export interface EventBridgeBusOptions {
  eventBusName: string;
  /** Only `send` is used; tests replace it. */
  client?: Pick<EventBridgeClient, "send">;
  /** PutEvents calls per batch before giving up. Default 5. */
  maxAttempts?: number;
  /** First retry delay; doubles on each retry up to `maxDelayMs`. Defaults 100 and 5000. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** PutEvents' limits on one call: 10 entries, whose sizes must add up to less than 256 KiB. */
export const MAX_ENTRIES = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;

/** An entry's size as EventBridge counts it: 14 bytes for Time, plus the UTF-8 bytes of Source, DetailType, Detail and Resources. */
export function entrySize(e: PutEventsRequestEntry): number {
  const bytes = (s: string | undefined) => (s ? Buffer.byteLength(s, "utf8") : 0);
  return (
    (e.Time ? 14 : 0) +
    bytes(e.Source) +
    bytes(e.DetailType) +
    bytes(e.Detail) +
    (e.Resources ?? []).reduce((n, r) => n + bytes(r), 0)
  );
}

/** The entry for one CloudEvent; Detail is the event's structured-mode JSON. */
/** What goes on Cascade's bus: its CloudEvents out, and the normalised events in. */
export type BusEvent = CascadeEvent | ImageUpdatedEvent;

export function toEntry(event: BusEvent, eventBusName: string): PutEventsRequestEntry {
  return {
    EventBusName: eventBusName,
    Source: event.source,
    DetailType: event.type,
    Time: new Date(event.time),
    Detail: new CloudEvent({ ...event }).toString(),
  };
}

const TEMPORARY_ERRORS = new Set(["ThrottlingException", "InternalException", "InternalFailure", "ServiceUnavailable", "TimeoutError"]);
const TEMPORARY_NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENETUNREACH"]);

function isTemporary(e: unknown): boolean {
  const err = e as { name?: string; $fault?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = err?.$metadata?.httpStatusCode;
  return (
    TEMPORARY_ERRORS.has(err?.name ?? "") ||
    err?.$fault === "server" ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    TEMPORARY_NETWORK_CODES.has(err?.code ?? "")
  );
}

interface Pending {
  event: BusEvent;
  entry: PutEventsRequestEntry;
  /** The last failure: EventBridge's error code and message, or the failed call's error. */
  error?: string;
}

export class EventBridgeBus implements EventBus {
  private readonly client: Pick<EventBridgeClient, "send">;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: EventBridgeBusOptions) {
    this.client = o.client ?? new EventBridgeClient({});
    this.maxAttempts = o.maxAttempts ?? 5;
    this.baseDelayMs = o.baseDelayMs ?? 100;
    this.maxDelayMs = o.maxDelayMs ?? 5000;
    this.sleep = o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** The events in PutEvents batches: at most 10 entries and under 256 KiB each, in order. */
  batches(events: readonly BusEvent[]): Pending[][] {
    const out: Pending[][] = [];
    let current: Pending[] = [];
    let size = 0;
    for (const event of events) {
      const entry = toEntry(event, this.o.eventBusName);
      const n = entrySize(entry);
      if (n >= MAX_REQUEST_BYTES) {
        throw new CascadeError(
          "EventTooLarge",
          `event ${event.id} (${event.type}) is ${n} bytes as an EventBridge entry; it must be under ${MAX_REQUEST_BYTES}`,
        );
      }
      if (current.length === MAX_ENTRIES || size + n >= MAX_REQUEST_BYTES) {
        out.push(current);
        current = [];
        size = 0;
      }
      current.push({ event, entry });
      size += n;
    }
    if (current.length) out.push(current);
    return out;
  }

  async publish(events: readonly BusEvent[]): Promise<void> {
    for (const batch of this.batches(events)) await this.putBatch(batch);
  }

  private async putBatch(batch: Pending[]): Promise<void> {
    let pending = batch;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
        const results = res.Entries ?? [];
        pending = pending.flatMap((p, i) => {
          const r = results[i];
          // An entry without a result is not known to have arrived: send it again.
          if (r && !r.ErrorCode && r.EventId) return [];
          return [{ ...p, error: r?.ErrorCode ? `${r.ErrorCode}${r.ErrorMessage ? `: ${r.ErrorMessage}` : ""}` : "no result for the entry" }];
        });
      } catch (e) {
        const reason = `${(e as Error).name}: ${(e as Error).message}`;
        if (!isTemporary(e)) {
          const ids = pending.map((p) => p.event.id).join(", ");
          throw new CascadeError("EventBridgeError", `EventBridge bus "${this.o.eventBusName}": PutEvents failed for events ${ids}: ${reason}`, {
            cause: e,
          });
        }
        pending = pending.map((p) => ({ ...p, error: reason }));
      }
      if (!pending.length) return;
      if (attempt >= this.maxAttempts) {
        throw new CascadeError(
          "EventBridgeError",
          `EventBridge bus "${this.o.eventBusName}": ${pending.length} of ${batch.length} events not accepted after ${attempt} attempts: ${pending
            .map((p) => `${p.event.id} (${p.error})`)
            .join(", ")}`,
          { temporary: true },
        );
      }
      await this.sleep(Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}
