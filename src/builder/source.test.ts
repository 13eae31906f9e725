import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { gitCredentialEnv, TOKEN_USERNAME } from "./source.js";

describe("gitCredentialEnv", () => {
  const dir = mkdtempSync(join(tmpdir(), "cascade-gitcred-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const b = (s: string) => Buffer.from(s);

  it("gives basic auth through an askpass program and the git processes' environment only", async () => {
    const env = await gitCredentialEnv({ username: b("bot"), password: b("pw") }, dir, "https://x");
    expect(env).toMatchObject({ CASCADE_GIT_USERNAME: "bot", CASCADE_GIT_PASSWORD: "pw", GIT_ASKPASS: join(dir, "git-askpass") });
    const script = readFileSync(env.GIT_ASKPASS!, "utf8");
    expect(script).not.toContain("pw");
    expect(statSync(env.GIT_ASKPASS!).mode & 0o777).toBe(0o700);
  });

  it("sends a token alone with a fixed user name", async () => {
    expect((await gitCredentialEnv({ password: b("ghp_token") }, dir, "https://x")).CASCADE_GIT_USERNAME).toBe(TOKEN_USERNAME);
  });

  it("writes an SSH key 0600 and pins known_hosts when given", async () => {
    const env = await gitCredentialEnv({ "ssh-privatekey": b("KEY"), known_hosts: b("host ssh-ed25519 AAAA") }, dir, "git@x:y.git");
    expect(env.GIT_SSH_COMMAND).toContain(`-i ${join(dir, "ssh-key")}`);
    expect(env.GIT_SSH_COMMAND).toContain("StrictHostKeyChecking=yes");
    expect(statSync(join(dir, "ssh-key")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "ssh-key"), "utf8")).toBe("KEY\n");
    expect((await gitCredentialEnv({ "ssh-privatekey": b("KEY\n") }, dir, "x")).GIT_SSH_COMMAND).toContain("StrictHostKeyChecking=accept-new");
  });

  it("refuses a secret with nothing git can use, and a username without a password", async () => {
    await expect(gitCredentialEnv({ ".gitconfig": b("[x]") }, dir, "https://x")).rejects.toThrow(/none of the keys username\/password/);
    await expect(gitCredentialEnv({ username: b("bot") }, dir, "https://x")).rejects.toThrow(/has a username but no password/);
  });
});
