import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushImage, pushIndex } from "../../test/support/push-image.js";
import { createDistributionClient } from "../adapters/registry/distribution-client.js";
import { findFreePort, startRegistry, type RunningRegistry } from "../adapters/local/registry-process.js";
import type { Clock } from "../ports/clock.js";
import { BasePoller } from "./base-poller.js";

const MIN = 60_000;

/** Time moves only when the test says so: no waiting for intervals. */
class ManualClock implements Clock {
  t = Date.parse("2026-11-25T10:00:00.000Z");
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

describe("BasePoller against a real Distribution registry", () => {
  let dir: string;
  let registry: RunningRegistry;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cascade-base-poller-"));
    registry = await startRegistry({ dir, port: await findFreePort() });
  });

  afterAll(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function poller(images: string[], options: { credentials?: boolean } = {}) {
    const clock = new ManualClock();
    const changes: Array<{ image: string; digest: string }> = [];
    const warnings: Array<{ image?: string; msg: string }> = [];
    const log = pino(
      { level: "warn", base: undefined },
      { write: (s: string) => void warnings.push(JSON.parse(s) as { image?: string; msg: string }) },
    );
    const client = createDistributionClient({
      credentialsFor: (host) =>
        options.credentials !== false && host === registry.hostPort ? registry.credentials : undefined,
    });
    const p = new BasePoller({
      registry: client,
      clock,
      log,
      images: async () => images,
      onChange: async (image, digest) => void changes.push({ image, digest }),
    });
    /** Moves past the interval and polls. */
    const poll = async () => {
      clock.advance(5 * MIN);
      return p.tick();
    };
    const digestOf = (image: string) => p.status().find((s) => s.image === image)?.digest;
    return { poller: p, clock, changes, warnings, poll, digestOf };
  }

  it("records an image on the first poll, then reports a push of a changed manifest to the same tag", async () => {
    const image = `${registry.hostPort}/upstream/base:1`;
    const v1 = await pushImage(registry, { repository: "upstream/base", tag: "1", format: "docker" });
    const t = poller([image]);

    expect((await t.poller.tick()).polled).toEqual([image]);
    expect(t.changes).toEqual([]);
    expect(t.digestOf(image)).toBe(v1.digest);

    await t.poll();
    expect(t.changes).toEqual([]); // nothing pushed

    const v2 = await pushImage(registry, {
      repository: "upstream/base",
      tag: "1",
      format: "docker",
      containerConfig: { Env: ["BASE_VERSION=2"] },
    });
    expect(v2.digest).not.toBe(v1.digest);
    await t.poll();
    expect(t.changes).toEqual([{ image, digest: v2.digest }]);
    expect(t.poller.status()[0]).toMatchObject({ image, digest: v2.digest, failures: 0, lastError: undefined });

    await t.poll();
    expect(t.changes).toHaveLength(1);
  });

  it.each(["oci", "docker"] as const)("follows a multi-platform %s index by the index digest", async (format) => {
    const repository = `upstream/multi-${format}`;
    const image = `${registry.hostPort}/${repository}:stable`;
    const first = await pushIndex(registry, {
      repository,
      tag: "stable",
      format,
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64", variant: "v8" },
      ],
    });
    const t = poller([image]);
    await t.poller.tick();
    expect(t.digestOf(image)).toBe(first.digest);
    expect(first.images.map((i) => i.digest)).not.toContain(first.digest);

    // A new arm64 image under the same tag: the index changes, the amd64 child does not.
    const second = await pushIndex(registry, {
      repository,
      tag: "stable",
      format,
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64", variant: "v8", containerConfig: { Env: ["REBUILT=1"] } },
      ],
    });
    expect(second.images[0]!.digest).toBe(first.images[0]!.digest);
    await t.poll();
    expect(t.changes).toEqual([{ image, digest: second.digest }]);
  });

  it("a missing tag and a refused login are warnings naming the image, retried at the normal interval", async () => {
    await pushImage(registry, { repository: "upstream/private", tag: "1" });
    const missing = `${registry.hostPort}/upstream/missing:1`;
    const t = poller([missing]);
    const r = await t.poller.tick();
    expect(r.errors).toEqual([{ image: missing, message: expect.stringContaining("HTTP 404"), temporary: false }]);
    expect(t.warnings.map((w) => w.image)).toEqual([missing]);

    const locked = `${registry.hostPort}/upstream/private:1`;
    const anon = poller([locked], { credentials: false });
    const r2 = await anon.poller.tick();
    expect(r2.errors).toEqual([{ image: locked, message: expect.stringContaining("401"), temporary: false }]);
    expect(anon.warnings.map((w) => w.image)).toEqual([locked]);
    expect(anon.poller.status()).toEqual([
      {
        image: locked,
        digest: undefined,
        checkedAt: undefined,
        nextAt: new Date(anon.clock.t + 5 * MIN).toISOString(),
        failures: 1,
        lastError: expect.stringContaining("401"),
      },
    ]);
  });
});
