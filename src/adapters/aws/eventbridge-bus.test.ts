/**
 * The EventBridge bus with the SDK client's `send` replaced by a small fake
 * (EventBridge cannot run here): batching, retries of only the failed
 * entries with exponential backoff, the final error, and the entry's shape,
 * parsed back into a CloudEvent with the `cloudevents` SDK.
 */
import {
  EventBridgeClient,
  PutEventsCommand,
  ResourceNotFoundException,
  ThrottlingException,
  type PutEventsRequestEntry,
  type PutEventsResponse,
} from "@aws-sdk/client-eventbridge";
import { HTTP, type CloudEvent } from "cloudevents";
import { describe, expect, it } from "vitest";
import type { Build } from "../../core/build.js";
import { CascadeError } from "../../core/errors.js";
import { publishedEvent, transitionEvent, type CascadeEvent } from "../../core/events-out.js";
import { EventBridgeBus, entrySize, MAX_REQUEST_BYTES } from "./eventbridge-bus.js";

const SOURCE = "urn:cascade:test";
const TIME = "2026-11-25T10:00:00.000Z";

const build = (n: number): Build => ({
  id: `web-${n}`,
  namespace: "team",
  buildConfig: "web",
  number: n,
  phase: "New",
  causes: [{ type: "Manual", message: "test", at: TIME }],
  inputs: { bases: [{ name: "docker.io/library/node:20", digest: `sha256:${"a".repeat(64)}` }] },
  createdAt: TIME,
});

const events = (count: number): CascadeEvent[] =>
  Array.from({ length: count }, (_, i) => transitionEvent(build(i + 1), { id: `e-${i + 1}`, source: SOURCE, time: TIME })!);

type Respond = (entries: PutEventsRequestEntry[], call: number) => PutEventsResponse | Error;

/** A real client whose `send` answers PutEvents from `respond` and records each call's entries. */
function fakeClient(respond: Respond) {
  const calls: PutEventsRequestEntry[][] = [];
  const client = new EventBridgeClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } });
  const send = async (command: unknown) => {
    if (!(command instanceof PutEventsCommand)) throw new Error(`unexpected command ${String(command)}`);
    const entries = command.input.Entries ?? [];
    calls.push(entries);
    const r = respond(entries, calls.length);
    if (r instanceof Error) throw r;
    return r;
  };
  client.send = send as unknown as EventBridgeClient["send"];
  return { client, calls };
}

const ok = (entries: PutEventsRequestEntry[]): PutEventsResponse => ({
  FailedEntryCount: 0,
  Entries: entries.map((_, i) => ({ EventId: `eb-${i}` })),
});

/** Every entry whose CloudEvent id is in `failing` fails with `code`. */
const failing =
  (code: string, ids: Set<string>): Respond =>
  (entries) => {
    const results = entries.map((e) =>
      ids.has(JSON.parse(e.Detail!).id) ? { ErrorCode: code, ErrorMessage: "try again" } : { EventId: "eb" },
    );
    return { FailedEntryCount: results.filter((r) => "ErrorCode" in r).length, Entries: results };
  };

const ids = (entries: PutEventsRequestEntry[]) => entries.map((e) => JSON.parse(e.Detail!).id as string);

function bus(respond: Respond, opts: { maxAttempts?: number } = {}) {
  const { client, calls } = fakeClient(respond);
  const sleeps: number[] = [];
  const b = new EventBridgeBus({
    eventBusName: "cascade-test",
    client,
    sleep: async (ms) => void sleeps.push(ms),
    ...opts,
  });
  return { b, calls, sleeps };
}

describe("EventBridgeBus", () => {
  it("sends 23 events as batches of 10, 10 and 3, in order", async () => {
    const { b, calls, sleeps } = bus(ok);
    await b.publish(events(23));
    expect(calls.map((c) => c.length)).toEqual([10, 10, 3]);
    expect(calls.flatMap(ids)).toEqual(events(23).map((e) => e.id));
    expect(calls.flat().every((e) => e.EventBusName === "cascade-test")).toBe(true);
    expect(sleeps).toEqual([]);
  });

  it("retries only the entries EventBridge reports failed, with a growing delay", async () => {
    const failOnce = new Set(["e-3", "e-8", "e-12"]);
    const { b, calls, sleeps } = bus((entries, call) => {
      // The first call of each batch fails some entries; every later call succeeds.
      if (call === 1 || call === 3) return failing("ThrottlingException", failOnce)(entries, call);
      if (call === 4) return failing("InternalFailure", new Set(["e-12"]))(entries, call);
      return ok(entries);
    });
    await b.publish(events(13));
    expect(calls.map(ids)).toEqual([
      ["e-1", "e-2", "e-3", "e-4", "e-5", "e-6", "e-7", "e-8", "e-9", "e-10"],
      ["e-3", "e-8"],
      ["e-11", "e-12", "e-13"],
      ["e-12"],
      ["e-12"],
    ]);
    expect(sleeps).toEqual([100, 100, 200]);
  });

  it("gives up after maxAttempts with an error naming each event and its error code", async () => {
    const { b, calls, sleeps } = bus(
      (entries) => {
        const results = ids(entries).map((id) =>
          id === "e-2"
            ? { ErrorCode: "InternalFailure", ErrorMessage: "try again" }
            : id === "e-4"
              ? { ErrorCode: "ThrottlingException", ErrorMessage: "Rate exceeded" }
              : { EventId: "eb" },
        );
        return { FailedEntryCount: results.filter((r) => "ErrorCode" in r).length, Entries: results };
      },
      { maxAttempts: 4 },
    );
    const err = await b.publish(events(5)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CascadeError);
    expect((err as CascadeError).temporary).toBe(true);
    expect((err as Error).message).toBe(
      'EventBridge bus "cascade-test": 2 of 5 events not accepted after 4 attempts: ' +
        "e-2 (InternalFailure: try again), e-4 (ThrottlingException: Rate exceeded)",
    );
    expect(calls.map((c) => c.length)).toEqual([5, 2, 2, 2]);
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it("retries a whole call that failed temporarily, and stops at once on a permanent failure", async () => {
    const throttled = bus((entries, call) =>
      call === 1 ? new ThrottlingException({ message: "Rate exceeded", $metadata: { httpStatusCode: 400 } }) : ok(entries),
    );
    await throttled.b.publish(events(2));
    expect(throttled.calls.map(ids)).toEqual([
      ["e-1", "e-2"],
      ["e-1", "e-2"],
    ]);

    const missing = bus(() => new ResourceNotFoundException({ message: "Event bus cascade-test does not exist.", $metadata: {} }));
    const err = await missing.b.publish(events(2)).catch((e: unknown) => e);
    expect(missing.calls.length).toBe(1);
    expect((err as CascadeError).temporary).toBe(false);
    expect((err as Error).message).toBe(
      'EventBridge bus "cascade-test": PutEvents failed for events e-1, e-2: ResourceNotFoundException: Event bus cascade-test does not exist.',
    );
  });

  it("puts the structured CloudEvent in Detail, with Source, DetailType and Time from the event", async () => {
    const { b, calls } = bus(ok);
    const complete: Build = {
      ...build(7),
      phase: "Complete",
      outputs: { image: "registry.example.test/team/web", digest: `sha256:${"b".repeat(64)}`, tags: ["latest", "1.2"] },
    };
    const event = publishedEvent(complete, { id: "pub-1", source: SOURCE, time: TIME })!;
    await b.publish([event]);
    const [entry] = calls[0]!;
    expect([entry!.Source, entry!.DetailType, entry!.Time?.toISOString()]).toEqual([SOURCE, "cascade.image.published", TIME]);
    const parsed = HTTP.toEvent({
      headers: { "content-type": "application/cloudevents+json; charset=utf-8" },
      body: entry!.Detail!,
    }) as CloudEvent<Record<string, unknown>>;
    expect({
      specversion: parsed.specversion,
      id: parsed.id,
      type: parsed.type,
      source: parsed.source,
      subject: parsed.subject,
      time: parsed.time,
      datacontenttype: parsed.datacontenttype,
      data: parsed.data,
    }).toEqual({ ...event });
    expect(parsed.data?.digest).toBe(`sha256:${"b".repeat(64)}`);
  });

  it("keeps each call under 256 KiB, and refuses an event too large for any call", async () => {
    const big = (id: string, kb: number): CascadeEvent => ({ ...events(1)[0]!, id, data: { blob: "x".repeat(kb * 1024) } });
    const { b, calls } = bus(ok);
    await b.publish([big("b-1", 100), big("b-2", 100), big("b-3", 100)]);
    expect(calls.map(ids)).toEqual([["b-1", "b-2"], ["b-3"]]);
    expect(calls.every((c) => c.reduce((n, e) => n + entrySize(e), 0) < MAX_REQUEST_BYTES)).toBe(true);
    // EventBridge's count: 14 bytes for Time, UTF-8 bytes of Source, DetailType, Detail and Resources; not the bus name.
    expect(entrySize({ Time: new Date(TIME), Source: "ab", DetailType: "cd", Detail: "é", Resources: ["r"], EventBusName: "bus" })).toBe(21);
    expect(entrySize({ Source: "ab", DetailType: "cd" })).toBe(4);
    await expect(b.publish([big("huge", 300)])).rejects.toThrow(
      /event huge \(cascade.build.queued\) is \d+ bytes as an EventBridge entry; it must be under 262144/,
    );
  });
});
