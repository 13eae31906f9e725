/** Distribution notification envelopes captured from a real registry (test/fixtures/registry). */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseRegistryNotification } from "./registry-notification.js";

const envelope = (name: string) => JSON.parse(readFileSync(new URL(`../../../test/fixtures/registry/${name}.json`, import.meta.url), "utf8"));
const DIGEST = "sha256:793a57cec5ee88d1c38575cefc16cc65ae89457c508bc2359621099b2caf5021";

describe("parseRegistryNotification", () => {
  it("turns a manifest pushed by tag into an image update named as clients name it", () => {
    const e = envelope("manifest-push-tag");
    const { updates, ignored } = parseRegistryNotification(e);
    expect(ignored).toEqual([]);
    expect(updates).toEqual([{ eventId: e.events[0].id, image: `${e.events[0].request.host}/demo/app:1.0`, digest: DIGEST }]);
  });

  it.each([
    ["blob-push", /not a manifest/],
    ["manifest-push-digest", /pushed by digest/],
    ["manifest-pull", /action pull/],
  ])("ignores %s, saying why", (name, reason) => {
    const { updates, ignored } = parseRegistryNotification(envelope(name));
    expect(updates).toEqual([]);
    expect(ignored[0]!.reason).toMatch(reason);
  });

  it("falls back to the target URL's host when the request names none", () => {
    const e = envelope("manifest-push-tag");
    delete e.events[0].request;
    const host = new URL(e.events[0].target.url).host;
    expect(parseRegistryNotification(e).updates[0]!.image).toBe(`${host}/demo/app:1.0`);
  });

  it.each([
    ["no events array", {}, /events/],
    ["an event without an id", { events: [{ action: "push", target: { repository: "x" } }] }, /events\.0\.id/],
    ["a target without a repository", { events: [{ id: "1", action: "push", target: {} }] }, /events\.0\.target\.repository/],
  ])("rejects %s with the field path", (_n, body, message) => {
    expect(() => parseRegistryNotification(body)).toThrow(message);
  });
});
