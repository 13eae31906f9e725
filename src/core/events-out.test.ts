/**
 * Unit tests for the outbound CloudEvents: one table row per build phase,
 * `cascade.image.published` for completed builds that pushed, immutability,
 * and a round trip of every event through the `cloudevents` SDK (strict
 * validation, HTTP binary and structured modes, and back) to prove that the
 * attributes are valid CloudEvents 1.0.
 */
import { CloudEvent, HTTP, type CloudEventV1, type Message } from "cloudevents";
import { describe, expect, it } from "vitest";
import { Build, type BuildPhase } from "./build.js";
import { EVENT_TYPES, publishedEvent, transitionEvent, type CascadeEvent } from "./events-out.js";

const CTX = { id: "8d1c5a0e-1f2b-4c7d-9e3a-5b6c7d8e9f01", source: "urn:cascade:local:http://127.0.0.1:7070", time: "2026-11-25T10:00:07.123Z" };

const COMMIT = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const NODE_DIGEST = "sha256:0f1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff0";
const IMAGE_DIGEST = "sha256:aa11bb22cc33dd44ee55ff6600778899aabbccddeeff00112233445566778899";

/** A queued build of shop/web, as the store records it (checked against the Build schema). */
const queued: Build = Build.parse({
  id: "web-3",
  namespace: "shop",
  buildConfig: "web",
  number: 3,
  phase: "New",
  causes: [
    {
      type: "GitHub",
      message: "GitHub push master at 6113728f27ae",
      deliveryId: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      ref: "refs/heads/master",
      commit: COMMIT,
      at: "2026-11-25T10:00:00.000Z",
    },
  ],
  inputs: {
    source: { uri: "https://github.com/Codertocat/Hello-World.git", ref: "master", commit: COMMIT },
    bases: [{ name: "docker.io/library/node:20", digest: NODE_DIGEST }],
  },
  createdAt: "2026-11-25T10:00:00.000Z",
});

const OUTPUTS = { image: "localhost:5000/shop/web", digest: IMAGE_DIGEST, tags: ["latest", "1.2.3"] };

function at(phase: BuildPhase, fields: Partial<Build> = {}): Build {
  return Build.parse({ ...structuredClone(queued), phase, ...fields });
}

const STARTED = { startedAt: "2026-11-25T10:00:02.000Z" };
const DONE = { ...STARTED, completedAt: "2026-11-25T10:00:07.000Z", durationMs: 5000 };

const builds = {
  New: queued,
  Pending: at("Pending"),
  Running: at("Running", STARTED),
  Complete: at("Complete", { ...DONE, outputs: OUTPUTS }),
  Failed: at("Failed", { ...DONE, reason: "DockerBuildFailed", message: "RUN npm ci exited with status 1" }),
  Error: at("Error", { ...DONE, reason: "BuilderError", message: "builder exited without a report" }),
  Cancelled: at("Cancelled", { reason: "Cancelled", message: "Cancelled before it started", completedAt: DONE.completedAt }),
} satisfies Record<BuildPhase, Build>;

const COMMON_DATA_KEYS = ["build", "buildConfig", "causes", "createdAt", "inputs", "namespace", "number", "phase"];

describe("transitionEvent", () => {
  it.each([
    // [phase, event type, data keys beyond the common ones]
    ["New", EVENT_TYPES.queued, []],
    ["Running", EVENT_TYPES.started, ["startedAt"]],
    ["Complete", EVENT_TYPES.succeeded, ["completedAt", "durationMs", "outputs", "startedAt"]],
    ["Failed", EVENT_TYPES.failed, ["completedAt", "durationMs", "message", "reason", "startedAt"]],
    ["Error", EVENT_TYPES.failed, ["completedAt", "durationMs", "message", "reason", "startedAt"]],
    ["Cancelled", EVENT_TYPES.cancelled, ["completedAt", "message", "reason"]],
  ] as const)("%s gives %s", (phase, type, extraKeys) => {
    const b = builds[phase];
    const e = transitionEvent(b, CTX)!;
    expect(e).toBeDefined();
    expect(e).toEqual({
      specversion: "1.0",
      id: CTX.id,
      type,
      source: CTX.source,
      subject: "shop/web",
      time: CTX.time,
      datacontenttype: "application/json",
      data: expect.any(Object),
    });
    expect(Object.keys(e.data).sort()).toEqual([...COMMON_DATA_KEYS, ...extraKeys].sort());
    expect(e.data).toMatchObject({ build: "web-3", namespace: "shop", buildConfig: "web", number: 3, phase });
    expect(e.data.causes).toEqual(b.causes);
    expect(e.data.inputs).toEqual(b.inputs);
    expect(e.data.createdAt).toBe(b.createdAt);
    for (const k of extraKeys) expect(e.data[k]).toEqual(b[k]);
  });

  it("Pending gives no event", () => {
    expect(transitionEvent(builds.Pending, CTX)).toBeUndefined();
  });

  it.each([
    ["default", "web", "default/web"],
    ["team-a", "api.v2", "team-a/api.v2"],
  ])("the subject of a build of %s/%s is %s", (namespace, buildConfig, subject) => {
    const e = transitionEvent(at("New", { namespace, buildConfig, id: `${buildConfig}-1`, number: 1 }), CTX)!;
    expect(e.subject).toBe(subject);
    expect(e.data).toMatchObject({ namespace, buildConfig, build: `${buildConfig}-1`, number: 1 });
  });

  it("keeps a zero duration", () => {
    const e = transitionEvent(at("Complete", { ...DONE, durationMs: 0, outputs: OUTPUTS }), CTX)!;
    expect(e.data.durationMs).toBe(0);
  });

  it("takes id, source and time from the caller, unchanged", () => {
    const ctx = { id: "1", source: "https://cascade.example.com/", time: "2027-01-01T00:00:00Z" };
    expect(transitionEvent(queued, ctx)).toMatchObject(ctx);
  });
});

describe("publishedEvent", () => {
  it("a completed build that pushed an image gives cascade.image.published", () => {
    const e = publishedEvent(builds.Complete, CTX)!;
    expect(e).toEqual({
      specversion: "1.0",
      id: CTX.id,
      type: "cascade.image.published",
      source: CTX.source,
      subject: "shop/web",
      time: CTX.time,
      datacontenttype: "application/json",
      data: {
        image: "localhost:5000/shop/web",
        digest: IMAGE_DIGEST,
        tags: ["latest", "1.2.3"],
        bases: [{ name: "docker.io/library/node:20", digest: NODE_DIGEST }],
        commit: COMMIT,
        source: "https://github.com/Codertocat/Hello-World.git",
        build: "web-3",
        namespace: "shop",
        buildConfig: "web",
      },
    });
  });

  it("without a source input, the data carries no commit and no source", () => {
    const b = at("Complete", { ...DONE, outputs: OUTPUTS, inputs: { bases: [] } });
    const e = publishedEvent(b, CTX)!;
    expect(e.data).not.toHaveProperty("commit");
    expect(e.data).not.toHaveProperty("source");
    expect(e.data.bases).toEqual([]);
  });

  it.each<[string, Build]>([
    ["Complete without outputs", at("Complete", DONE)],
    ...(["New", "Pending", "Running", "Failed", "Error", "Cancelled"] as const).map(
      (phase): [string, Build] => [`${phase} with outputs`, at(phase, { ...DONE, outputs: OUTPUTS })],
    ),
  ])("%s gives no event", (_what, b) => {
    expect(publishedEvent(b, CTX)).toBeUndefined();
  });
});

/** Every event the two functions produce over the phase table. */
const allEvents: [string, CascadeEvent][] = [
  ...Object.values(builds).flatMap((b) => {
    const e = transitionEvent(b, CTX);
    return e ? [[`${b.phase} -> ${e.type}`, e] as [string, CascadeEvent]] : [];
  }),
  ["Complete -> cascade.image.published", publishedEvent(builds.Complete, CTX)!],
];

describe("events are immutable", () => {
  it("the table covers six transitions and the published event", () => {
    expect(allEvents.map(([name]) => name)).toEqual([
      "New -> cascade.build.queued",
      "Running -> cascade.build.started",
      "Complete -> cascade.build.succeeded",
      "Failed -> cascade.build.failed",
      "Error -> cascade.build.failed",
      "Cancelled -> cascade.build.cancelled",
      "Complete -> cascade.image.published",
    ]);
  });

  it.each(allEvents)("%s is frozen, data included", (_name, e) => {
    expect(Object.isFrozen(e)).toBe(true);
    expect(Object.isFrozen(e.data)).toBe(true);
    for (const v of Object.values(e.data)) if (typeof v === "object" && v !== null) expect(Object.isFrozen(v)).toBe(true);
    expect(() => {
      (e as { subject: string }).subject = "other/x";
    }).toThrow(TypeError);
    expect(() => {
      e.data.build = "x-1";
    }).toThrow(TypeError);
    expect(e.subject).toBe("shop/web");
  });

  it.each([
    ["transitionEvent", transitionEvent],
    ["publishedEvent", publishedEvent],
  ])("%s shares nothing with the build: changing the build later does not change the event", (_name, make) => {
    const b = structuredClone(builds.Complete);
    const e = make(b, CTX)!;
    const snapshot = structuredClone(e);
    b.inputs.bases.push({ name: "docker.io/library/alpine:3", digest: NODE_DIGEST });
    b.outputs!.tags.push("mutated");
    b.causes.push({ type: "Manual", message: "later", at: CTX.time });
    b.inputs.source!.commit = "f".repeat(40);
    expect(e).toEqual(snapshot);
  });

  it("does not change the build", () => {
    const b = structuredClone(builds.Complete);
    transitionEvent(b, CTX);
    publishedEvent(b, CTX);
    expect(b).toEqual(builds.Complete);
    expect(Object.isFrozen(b.causes)).toBe(false);
  });
});

function single(x: CloudEventV1<unknown> | CloudEventV1<unknown>[]): CloudEventV1<unknown> {
  expect(Array.isArray(x)).toBe(false);
  return x as CloudEventV1<unknown>;
}

function attributes(ce: CloudEventV1<unknown>) {
  const { specversion, id, type, source, subject, time, datacontenttype, data } = ce;
  return { specversion, id, type, source, subject, time, datacontenttype, data };
}

describe("every event is a valid CloudEvent 1.0 (cloudevents SDK)", () => {
  it.each(allEvents)("%s: new CloudEvent() accepts it in strict mode", (_name, e) => {
    const ce = new CloudEvent({ ...e }, true);
    expect(ce.validate()).toBe(true);
    expect(attributes(ce)).toEqual({ ...e });
  });

  it.each(allEvents)("%s: HTTP binary mode round-trips", (_name, e) => {
    const msg: Message = HTTP.binary(new CloudEvent({ ...e }));
    expect(msg.headers).toMatchObject({
      "content-type": "application/json",
      "ce-specversion": "1.0",
      "ce-id": e.id,
      "ce-type": e.type,
      "ce-source": e.source,
      "ce-subject": e.subject,
      "ce-time": e.time,
    });
    expect(JSON.parse(msg.body as string)).toEqual(e.data);
    expect(HTTP.isEvent(msg)).toBe(true);
    expect(attributes(single(HTTP.toEvent(msg)))).toEqual({ ...e });
  });

  it.each(allEvents)("%s: HTTP structured mode round-trips", (_name, e) => {
    const msg: Message = HTTP.structured(new CloudEvent({ ...e }));
    expect(msg.headers["content-type"]).toMatch(/^application\/cloudevents\+json/);
    expect(JSON.parse(msg.body as string)).toMatchObject({ ...e });
    expect(attributes(single(HTTP.toEvent(msg)))).toEqual({ ...e });
  });

  // Controls: the SDK's strict validation does reject bad attributes, so the
  // acceptance above means something.
  it.each([
    ["an empty source", { source: "" }],
    ["a source that is not a URI reference", { source: "cascade on my laptop" }],
    ["a time that is not RFC 3339", { time: "25/11/2026 10:00" }],
    ["a thirteenth month", { time: "2026-13-25T10:00:07Z" }],
    ["an empty subject", { subject: "" }],
  ])("the SDK rejects an event with %s", (_what, edit) => {
    const e = transitionEvent(queued, CTX)!;
    expect(() => new CloudEvent({ ...e, ...edit } as never, true)).toThrow();
  });
});
