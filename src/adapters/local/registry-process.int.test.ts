import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { pushImage } from "../../../test/support/push-image.js";
import { findFreePort, startRegistry, type RunningRegistry } from "./registry-process.js";

function basic(credentials: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

describe("startRegistry (real docker-registry)", () => {
  let dir: string;
  let running: RunningRegistry | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "cascade-registry-"));
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it("serves on loopback, challenges anonymous clients and accepts the generated login", async () => {
    const port = await findFreePort();
    running = await startRegistry({ dir, port });

    expect(running.url).toBe(`http://127.0.0.1:${port}`);
    expect(running.hostPort).toBe(`127.0.0.1:${port}`);
    expect(running.credentials.username).toBe("cascade");
    expect(running.credentials.password.length).toBeGreaterThanOrEqual(24);
    expect(running.logFile).toBe(join(dir, "registry.log"));

    const anonymous = await fetch(`${running.url}/v2/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic realm="cascade-registry"/);

    const wrong = await fetch(`${running.url}/v2/`, {
      headers: { authorization: basic({ username: "cascade", password: "not-the-password" }) },
    });
    expect(wrong.status).toBe(401);

    const authed = await fetch(`${running.url}/v2/`, { headers: { authorization: basic(running.credentials) } });
    expect(authed.status).toBe(200);

    const config = parse(await readFile(join(dir, "config.yml"), "utf8"));
    expect(config.http.addr).toBe(`127.0.0.1:${port}`);
    expect(config.storage.filesystem.rootdirectory).toBe(join(dir, "data"));
    expect(config.storage.delete.enabled).toBe(true);
    expect(config.notifications).toBeUndefined();

    for (const file of ["htpasswd", "credentials.json"]) {
      expect((await stat(join(dir, file))).mode & 0o777, file).toBe(0o600);
    }
    expect(await readFile(join(dir, "htpasswd"), "utf8")).toMatch(/^cascade:\$2y\$/);
    expect(await readFile(join(dir, "htpasswd"), "utf8")).not.toContain(running.credentials.password);
  });

  it("reuses the credentials and the stored images after a restart", async () => {
    const port = await findFreePort();
    running = await startRegistry({ dir, port });
    const first = running.credentials;
    const pushed = await pushImage(running, { repository: "team/app", tag: "v1" });
    await running.stop();

    const afterStop = await fetch(`${running.url}/v2/`).catch((err: unknown) => err);
    expect(afterStop).toBeInstanceOf(Error);

    running = await startRegistry({ dir, port });
    expect(running.credentials).toEqual(first);
    const res = await fetch(`${running.url}/v2/team/app/manifests/v1`, {
      method: "HEAD",
      headers: { authorization: basic(running.credentials), accept: pushed.mediaType },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("docker-content-digest")).toBe(pushed.digest);
  });

  it("stop() is idempotent", async () => {
    running = await startRegistry({ dir, port: await findFreePort() });
    await running.stop();
    await running.stop();
  });

  it("names the port when it is taken", async () => {
    const blocker: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen({ host: "127.0.0.1", port: 0 }, () => resolve((blocker.address() as { port: number }).port)),
    );
    try {
      await expect(startRegistry({ dir, port })).rejects.toThrow(new RegExp(`port ${port}\\b.*in use`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("writes a notifications endpoint section when asked", async () => {
    const port = await findFreePort();
    running = await startRegistry({
      dir,
      port,
      notifications: [{ url: "http://127.0.0.1:9/hooks/registry", headers: { Authorization: "Bearer abc" } }],
    });
    const config = parse(await readFile(join(dir, "config.yml"), "utf8"));
    expect(config.notifications.endpoints).toEqual([
      {
        name: "cascade-1",
        url: "http://127.0.0.1:9/hooks/registry",
        headers: { Authorization: ["Bearer abc"] },
        timeout: "2s",
        threshold: 5,
        backoff: "1s",
      },
    ]);
    // The registry accepted the section: it is up and answering.
    expect((await fetch(`${running.url}/v2/`)).status).toBe(401);
  });

  it("refuses a non-loopback listen address and port 0", async () => {
    await expect(startRegistry({ dir, port: 5000, host: "0.0.0.0" })).rejects.toThrow(/0\.0\.0\.0.*not a loopback/);
    await expect(startRegistry({ dir, port: 0 })).rejects.toThrow(/port 0/);
  });

  it("reports a registry that exits early with the log tail", async () => {
    const port = await findFreePort();
    // `sh serve CONFIG` fails at once and says why on stderr, like a registry with a bad config would.
    await expect(startRegistry({ dir, port, binary: "sh", readyTimeoutMs: 5_000 })).rejects.toThrow(
      /exited \(code \d+\) before it was ready; last lines of .*registry\.log:\n.*serve/,
    );
  });
});
