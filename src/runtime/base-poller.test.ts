import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RegistryError, ValidationError } from "../core/errors.js";
import type { Clock } from "../ports/clock.js";
import type { Registry } from "../ports/registry.js";
import { BasePoller, type BasePollerOptions } from "./base-poller.js";

const MIN = 60_000;
const T0 = Date.parse("2026-11-25T10:00:00.000Z");

const A = "docker.io/library/node:20";
const B = "quay.io/team/base:1";
const C = "127.0.0.1:5000/mirror/alpine:3";

const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

class FakeClock implements Clock {
  t = T0;
  now(): Date {
    return new Date(this.t);
  }
  set(offsetMs: number): void {
    this.t = T0 + offsetMs;
  }
}

/** In-memory registry: a digest per image, errors scripted per image (thrown first, in order). */
class FakeRegistry implements Registry {
  readonly digests = new Map<string, string>();
  readonly errors = new Map<string, Error[]>();
  readonly calls: string[] = [];
  /** When set, every resolveDigest waits for it. */
  gate: Promise<void> | undefined;
  inFlight = 0;
  maxInFlight = 0;

  async resolveDigest(ref: string): Promise<{ digest: string; mediaType: string }> {
    this.calls.push(ref);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.gate) await this.gate;
      const err = this.errors.get(ref)?.shift();
      if (err) throw err;
      const digest = this.digests.get(ref);
      if (digest === undefined) throw new RegistryError(`manifest unknown: ${ref} (HTTP 404)`, { status: 404 });
      return { digest, mediaType: "application/vnd.oci.image.index.v1+json" };
    } finally {
      this.inFlight--;
    }
  }
  getManifest(): never {
    throw new Error("not used");
  }
  getImageConfig(): never {
    throw new Error("not used");
  }
  manifestExists(): never {
    throw new Error("not used");
  }
}

const http = (status: number) =>
  new RegistryError(`registry answered HTTP ${status}`, { status, temporary: status === 429 || status >= 500 });

/** Lets pending promise callbacks run (no timers involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

interface LogLine {
  level: number;
  msg: string;
  image?: string;
}

function setup(options: Partial<BasePollerOptions> & { watch?: string[] } = {}) {
  const clock = new FakeClock();
  const registry = new FakeRegistry();
  const lines: LogLine[] = [];
  const log = pino({ level: "debug", base: undefined }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const changes: Array<[string, string]> = [];
  let watch = options.watch ?? [A];
  const poller = new BasePoller({
    registry,
    clock,
    log,
    images: async () => watch,
    onChange: async (image, digest) => void changes.push([image, digest]),
    ...options,
  });
  const warnings = () => lines.filter((l) => l.level === 40);
  const state = (image: string) => poller.status().find((s) => s.image === image);
  return {
    clock,
    registry,
    poller,
    changes,
    lines,
    warnings,
    state,
    watchOnly: (images: string[]) => void (watch = images),
  };
}

// ---------------------------------------------------------------- table

interface Step {
  /** Clock offset from T0, in ms, when this tick runs. */
  at: number;
  /** Registry contents set before the tick. */
  digests?: Record<string, string>;
  /** Errors the next resolveDigest calls throw, per image. */
  errors?: Record<string, Error[]>;
  /** Images resolveDigest was asked for in this tick, in any order. */
  polled: string[];
  /** onChange calls made in this tick. */
  changes?: Array<[string, string]>;
  /** Expected next-due offsets from T0, per image. */
  nextAt?: Record<string, number>;
  failures?: Record<string, number>;
  /** Warnings logged in this tick must name these images (and no others). */
  warned?: string[];
}

interface Case {
  name: string;
  options?: Partial<BasePollerOptions> & { watch?: string[] };
  steps: Step[];
}

const cases: Case[] = [
  {
    name: "unchanged digest (known at start) → no onChange",
    options: { initial: new Map([[A, d(1)]]) },
    steps: [
      { at: 0, digests: { [A]: d(1) }, polled: [A], changes: [], nextAt: { [A]: 5 * MIN } },
      { at: 5 * MIN, polled: [A], changes: [], nextAt: { [A]: 10 * MIN } },
    ],
  },
  {
    name: "changed digest → one onChange, then quiet",
    options: { initial: new Map([[A, d(1)]]) },
    steps: [
      { at: 0, digests: { [A]: d(2) }, polled: [A], changes: [[A, d(2)]] },
      { at: 5 * MIN, polled: [A], changes: [] },
      { at: 10 * MIN, digests: { [A]: d(3) }, polled: [A], changes: [[A, d(3)]] },
    ],
  },
  {
    name: "first sighting with no known digest is recorded silently; a later change is reported",
    steps: [
      { at: 0, digests: { [A]: d(1) }, polled: [A], changes: [] },
      { at: 5 * MIN, digests: { [A]: d(2) }, polled: [A], changes: [[A, d(2)]] },
    ],
  },
  {
    name: "reportFirst: the first sighting is reported",
    options: { reportFirst: true, initial: new Map([[B, d(7)]]), watch: [A, B] },
    steps: [{ at: 0, digests: { [A]: d(1), [B]: d(7) }, polled: [A, B], changes: [[A, d(1)]] }],
  },
  {
    name: "per-image intervals are respected",
    options: {
      watch: [A, B],
      intervalFor: (image) => (image === A ? 1 * MIN : 3 * MIN),
      initial: new Map([
        [A, d(1)],
        [B, d(2)],
      ]),
    },
    steps: [
      { at: 0, digests: { [A]: d(1), [B]: d(2) }, polled: [A, B], nextAt: { [A]: 1 * MIN, [B]: 3 * MIN } },
      { at: 30_000, polled: [] },
      { at: 1 * MIN, polled: [A], nextAt: { [A]: 2 * MIN, [B]: 3 * MIN } },
      { at: 2 * MIN, digests: { [B]: d(3) }, polled: [A], changes: [] },
      { at: 3 * MIN, polled: [A, B], changes: [[B, d(3)]], nextAt: { [A]: 4 * MIN, [B]: 6 * MIN } },
      // A late tick polls what is overdue once, and schedules from the time of the poll.
      { at: 10 * MIN, polled: [A, B], nextAt: { [A]: 11 * MIN, [B]: 13 * MIN } },
    ],
  },
  {
    name: "429 then success → backoff doubles up to maxBackoffMs, then recovers to the interval",
    options: { intervalFor: () => 1 * MIN, maxBackoffMs: 5 * MIN, initial: new Map([[A, d(1)]]) },
    steps: [
      {
        at: 0,
        digests: { [A]: d(2) },
        errors: { [A]: [http(429), http(429), http(503), http(429)] },
        polled: [A],
        changes: [],
        nextAt: { [A]: 2 * MIN },
        failures: { [A]: 1 },
        warned: [A],
      },
      { at: 1 * MIN, polled: [], failures: { [A]: 1 } },
      { at: 2 * MIN, polled: [A], nextAt: { [A]: 6 * MIN }, failures: { [A]: 2 }, warned: [A] },
      { at: 6 * MIN, polled: [A], nextAt: { [A]: 11 * MIN }, failures: { [A]: 3 }, warned: [A] }, // 8 min capped at 5
      { at: 11 * MIN, polled: [A], nextAt: { [A]: 16 * MIN }, failures: { [A]: 4 }, warned: [A] },
      // Recovered: the change made during the outage is reported, and the pace is back to normal.
      { at: 16 * MIN, polled: [A], changes: [[A, d(2)]], nextAt: { [A]: 17 * MIN }, failures: { [A]: 0 } },
      { at: 17 * MIN, polled: [A], changes: [], nextAt: { [A]: 18 * MIN } },
    ],
  },
  {
    name: "a network error backs off like a 429",
    options: { initial: new Map([[A, d(1)]]) },
    steps: [
      {
        at: 0,
        digests: { [A]: d(1) },
        errors: { [A]: [new RegistryError("registry docker.io unreachable", { temporary: true })] },
        polled: [A],
        nextAt: { [A]: 10 * MIN },
        warned: [A],
      },
      { at: 10 * MIN, polled: [A], nextAt: { [A]: 15 * MIN }, failures: { [A]: 0 } },
    ],
  },
  {
    name: "404 → warning naming the image, retried at the normal interval",
    options: { watch: [A, B], initial: new Map([[B, d(2)]]) },
    steps: [
      { at: 0, digests: { [B]: d(2) }, polled: [A, B], nextAt: { [A]: 5 * MIN, [B]: 5 * MIN }, failures: { [A]: 1, [B]: 0 }, warned: [A] },
      // Still missing: counted, but not warned about again.
      { at: 5 * MIN, polled: [A, B], nextAt: { [A]: 10 * MIN }, failures: { [A]: 2 }, warned: [] },
      // Pushed at last: a first sighting, recorded silently.
      { at: 10 * MIN, digests: { [A]: d(1) }, polled: [A, B], changes: [], nextAt: { [A]: 15 * MIN }, failures: { [A]: 0 } },
    ],
  },
  {
    name: "401 → warning, normal interval (a permanent error does not back off)",
    options: { initial: new Map([[A, d(1)]]) },
    steps: [
      {
        at: 0,
        digests: { [A]: d(1) },
        errors: { [A]: [new RegistryError(`unauthorized: ${A} (HTTP 401)`, { status: 401 }), http(403)] },
        polled: [A],
        nextAt: { [A]: 5 * MIN },
        failures: { [A]: 1 },
        warned: [A],
      },
      // A different error is warned about again.
      { at: 5 * MIN, polled: [A], nextAt: { [A]: 10 * MIN }, failures: { [A]: 2 }, warned: [A] },
      { at: 10 * MIN, polled: [A], changes: [], failures: { [A]: 0 } },
    ],
  },
  {
    name: "an invalid reference is a permanent failure too",
    options: { watch: ["Not A Ref"] },
    steps: [
      {
        at: 0,
        errors: { "Not A Ref": [new ValidationError('invalid image reference "Not A Ref"')] },
        polled: ["Not A Ref"],
        nextAt: { "Not A Ref": 5 * MIN },
        failures: { "Not A Ref": 1 },
        warned: ["Not A Ref"],
      },
    ],
  },
];

describe("BasePoller.tick", () => {
  it.each(cases)("$name", async ({ options, steps }) => {
    const t = setup(options);
    for (const [i, step] of steps.entries()) {
      const where = `step ${i} (at ${step.at / 1000} s)`;
      t.clock.set(step.at);
      for (const [image, digest] of Object.entries(step.digests ?? {})) t.registry.digests.set(image, digest);
      for (const [image, errs] of Object.entries(step.errors ?? {})) t.registry.errors.set(image, [...errs]);
      t.registry.calls.length = 0;
      t.changes.length = 0;
      const warnedBefore = t.warnings().length;

      const result = await t.poller.tick();

      expect([...t.registry.calls].sort(), where).toEqual([...step.polled].sort());
      expect([...result.polled].sort(), where).toEqual([...step.polled].sort());
      if (step.changes) {
        expect(t.changes, where).toEqual(step.changes);
        expect(result.changes.map((c) => [c.image, c.digest]), where).toEqual(step.changes);
      }
      for (const [image, offset] of Object.entries(step.nextAt ?? {})) {
        expect(t.state(image)?.nextAt, `${where}: nextAt of ${image}`).toBe(new Date(T0 + offset).toISOString());
      }
      for (const [image, failures] of Object.entries(step.failures ?? {})) {
        expect(t.state(image)?.failures, `${where}: failures of ${image}`).toBe(failures);
      }
      if (step.warned) {
        const warned = t.warnings().slice(warnedBefore);
        expect(warned.map((w) => w.image), where).toEqual(step.warned);
        for (const w of warned) expect(w.msg, where).toContain(w.image);
      }
    }
  });
});

describe("BasePoller", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("never overlaps ticks: a second tick() waits for the slow first one, then polls only what is due", async () => {
    const t = setup({ watch: [A, B, C], initial: new Map([[A, d(1)]]) });
    t.registry.digests.set(A, d(2)).set(B, d(3)).set(C, d(4));
    let release!: () => void;
    t.registry.gate = new Promise<void>((r) => (release = r));

    const first = t.poller.tick();
    const second = t.poller.tick();
    const third = t.poller.tick();
    expect(third).toBe(second); // at most one tick waits; later asks share it
    await settle();
    expect(t.registry.calls).toHaveLength(3);
    expect(t.changes).toEqual([]);
    release();

    const [r1, r2] = await Promise.all([first, second]);
    expect(r1.polled.sort()).toEqual([A, B, C].sort());
    expect(r1.changes).toEqual([{ image: A, digest: d(2), previous: d(1) }]);
    expect(r2.polled).toEqual([]); // nothing was due yet when the queued tick ran
    expect(t.registry.calls).toHaveLength(3);
    expect(t.changes).toEqual([[A, d(2)]]);
    expect(t.registry.maxInFlight).toBe(3); // within the one tick, up to `concurrency` at once
  });

  it("a queued tick sees images added while the first one ran", async () => {
    const t = setup({ watch: [A] });
    t.registry.digests.set(A, d(1)).set(B, d(2));
    let release!: () => void;
    t.registry.gate = new Promise<void>((r) => (release = r));
    const first = t.poller.tick();
    await settle();
    expect(t.registry.calls).toEqual([A]);
    t.watchOnly([A, B]);
    const second = t.poller.tick();
    release();
    expect((await first).polled).toEqual([A]);
    expect((await second).polled).toEqual([B]);
  });

  it("polls at most `concurrency` images at once", async () => {
    const t = setup({ watch: [A, B, C], concurrency: 1 });
    t.registry.digests.set(A, d(1)).set(B, d(2)).set(C, d(3));
    await t.poller.tick();
    expect(t.registry.maxInFlight).toBe(1);
    expect(t.registry.calls).toHaveLength(3);
  });

  it("keeps the old digest when onChange throws, and reports the change again after a backoff", async () => {
    const t = setup();
    t.registry.digests.set(A, d(2));
    let fail = true;
    const reported: string[] = [];
    const poller = new BasePoller({
      registry: t.registry,
      clock: t.clock,
      log: pino({ level: "silent" }),
      images: async () => [A],
      initial: new Map([[A, d(1)]]),
      onChange: async (_image, digest) => {
        reported.push(digest);
        if (fail) throw new Error("store is busy");
      },
    });
    const r1 = await poller.tick();
    expect(r1.changes).toEqual([]);
    expect(r1.errors).toEqual([{ image: A, message: "reporting the change failed: store is busy", temporary: true }]);
    expect(poller.status()[0]).toMatchObject({ digest: d(1), failures: 1, nextAt: new Date(T0 + 10 * MIN).toISOString() });

    fail = false;
    t.clock.set(10 * MIN);
    const r2 = await poller.tick();
    expect(r2.changes).toEqual([{ image: A, digest: d(2), previous: d(1) }]);
    expect(reported).toEqual([d(2), d(2)]);
    expect(poller.status()[0]).toMatchObject({ digest: d(2), failures: 0, lastError: undefined });
  });

  it("status() reports digest, checkedAt, nextAt, failures and lastError per image; unwatched images are dropped", async () => {
    const t = setup({ watch: [B, A], initial: new Map([[A, d(1)]]) });
    t.registry.digests.set(A, d(1));
    expect(t.poller.status()).toEqual([]);
    await t.poller.tick();
    expect(t.poller.status()).toEqual([
      {
        image: A,
        digest: d(1),
        checkedAt: new Date(T0).toISOString(),
        nextAt: new Date(T0 + 5 * MIN).toISOString(),
        failures: 0,
        lastError: undefined,
      },
      {
        image: B,
        digest: undefined,
        checkedAt: undefined,
        nextAt: new Date(T0 + 5 * MIN).toISOString(),
        failures: 1,
        lastError: `manifest unknown: ${B} (HTTP 404)`,
      },
    ]);
    t.watchOnly([A]);
    t.clock.set(1 * MIN);
    await t.poller.tick();
    expect(t.poller.status().map((s) => s.image)).toEqual([A]);
  });

  it("remembers the digest of an image that leaves the watch list and comes back", async () => {
    const t = setup({ watch: [A] });
    t.registry.digests.set(A, d(1));
    await t.poller.tick();
    t.watchOnly([]);
    await t.poller.tick();
    t.registry.digests.set(A, d(2));
    t.watchOnly([A]);
    const r = await t.poller.tick(); // back on the list: due at once
    expect(r.changes).toEqual([{ image: A, digest: d(2), previous: d(1) }]);
  });

  it("tick() rejects when images() does, and the next tick works", async () => {
    let broken = true;
    const t = setup({
      images: async () => {
        if (broken) throw new Error("store closed");
        return [A];
      },
    });
    t.registry.digests.set(A, d(1));
    await expect(t.poller.tick()).rejects.toThrow("store closed");
    broken = false;
    expect((await t.poller.tick()).polled).toEqual([A]);
  });

  it("start() ticks at once and then when an image is due, on unref'd timers; stop() ends it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
    const t = setup({ watch: [A], intervalFor: () => 10_000, initial: new Map([[A, d(1)]]) });
    t.registry.digests.set(A, d(1));
    t.poller.start();
    t.poller.start(); // idempotent
    await vi.advanceTimersByTimeAsync(0);
    expect(t.registry.calls).toEqual([A]);
    const timers = setTimeoutSpy.mock.results.map((r) => r.value as NodeJS.Timeout);
    expect(timers.length).toBeGreaterThan(0);
    for (const timer of timers) expect(timer.hasRef()).toBe(false);

    // The next wake is 10 s later by the injected clock.
    t.clock.set(5_000);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(t.registry.calls).toEqual([A]);
    t.clock.set(10_000);
    t.registry.digests.set(A, d(2));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(t.registry.calls).toEqual([A, A]);
    expect(t.changes).toEqual([[A, d(2)]]);

    await t.poller.stop();
    t.clock.set(60_000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.registry.calls).toEqual([A, A]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("stop() waits for the tick in progress", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const t = setup({ watch: [A] });
    t.registry.digests.set(A, d(1));
    let release!: () => void;
    t.registry.gate = new Promise<void>((r) => (release = r));
    t.poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.registry.calls).toEqual([A]);
    let stopped = false;
    const stopping = t.poller.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(t.state(A)?.digest).toBe(d(1));
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a tick that fails in the timer loop is logged and the loop goes on", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let broken = true;
    const t = setup({
      wakeMs: 2_000,
      images: async () => {
        if (broken) throw new Error("store closed");
        return [A];
      },
    });
    t.registry.digests.set(A, d(1));
    t.poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.lines.some((l) => l.level === 50 && l.msg === "base image poll tick failed")).toBe(true);
    broken = false;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(t.registry.calls).toEqual([A]);
    await t.poller.stop();
  });
});
