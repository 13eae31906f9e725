/** Event delivery to real HTTP subscribers on loopback: signing, both modes, retries with backoff, restarts. */
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { startEventCollector, type EventCollector } from "../../cli/event-collector.js";
import type { CascadeEvent } from "../../core/events-out.js";
import { systemClock } from "../../ports/clock.js";
import { SqliteStore } from "./sqlite-store.js";
import { SubscriberBus } from "./subscriber-bus.js";

const event = (id: string): CascadeEvent => ({
  specversion: "1.0",
  id,
  type: "cascade.build.succeeded",
  source: "urn:cascade:test",
  subject: "ns/web",
  time: "2026-11-25T10:00:00.000Z",
  datacontenttype: "application/json",
  data: { build: "web-1", phase: "Complete" },
});

describe("SubscriberBus", () => {
  const open: (EventCollector | SqliteStore)[] = [];
  afterEach(async () => {
    for (const x of open.splice(0)) await x.close();
  });

  async function setup(mode: "binary" | "structured", secret = "sub-key") {
    const store = new SqliteStore(":memory:");
    const collector = await startEventCollector();
    open.push(collector, store);
    collector.secret = "sub-key";
    await store.addSubscriber({ url: collector.url, secret, mode }, new Date().toISOString());
    const bus = new SubscriberBus({ store, clock: systemClock, log: pino({ level: "silent" }), baseDelayMs: 20, maxAttempts: 4 });
    return { store, collector, bus };
  }

  it.each(["binary", "structured"] as const)("delivers signed events in %s mode, readable by the cloudevents SDK", async (mode) => {
    const { collector, bus } = await setup(mode);
    await bus.publish([event("e-1"), event("e-2")]);
    await bus.kick();
    expect(collector.events.map((e) => [e.id, e.type, e.subject])).toEqual([
      ["e-1", "cascade.build.succeeded", "ns/web"],
      ["e-2", "cascade.build.succeeded", "ns/web"],
    ]);
    expect(collector.events[0]!.data).toEqual({ build: "web-1", phase: "Complete" });
    expect(collector.rejected).toBe(0);
  });

  it("retries a failing subscriber with backoff until it answers", async () => {
    const { store, collector, bus } = await setup("binary");
    collector.failNext = 2;
    await bus.publish([event("e-3")]);
    const started = Date.now();
    while (collector.events.length === 0 && Date.now() - started < 5000) {
      await bus.kick();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(collector.events.map((e) => e.id)).toEqual(["e-3"]);
    // Two failures: waits of 20 ms then 40 ms before the third, successful attempt.
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
    expect(await store.deliveredEvents()).toBe(1);
  });

  it("gives up after the last attempt when the signature is never accepted", async () => {
    const { store, collector, bus } = await setup("binary", "wrong-key");
    await bus.publish([event("e-4")]);
    const started = Date.now();
    while (collector.rejected < 4 && Date.now() - started < 5000) {
      await bus.kick();
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 200));
    await bus.kick();
    expect(collector.rejected).toBe(4);
    expect(collector.events).toEqual([]);
    expect(await store.dueDeliveries("2099-01-01T00:00:00.000Z", 10)).toEqual([]);
  });
});
