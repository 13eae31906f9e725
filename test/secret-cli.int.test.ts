/** `cascade secret` and `cascade configmap` as a user types them, on a real CASCADE_HOME, with no server running. */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileSecretStore } from "../src/adapters/local/file-secret-store.js";
import { cascade } from "./support/cli.js";

describe("cascade secret", () => {
  const home = mkdtempSync(join(tmpdir(), "cascade-secret-cli-"));
  const env = { CASCADE_HOME: home };
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it("creates a secret from files and literals, lists names and keys only, and deletes it", async () => {
    const key = join(home, "id_ed25519");
    writeFileSync(key, "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-bytes-0123\n-----END OPENSSH PRIVATE KEY-----\n");
    const created = await cascade(["secret", "create", "git", "-n", "team", "--from-file", `ssh-privatekey=${key}`, "--from-literal", "username=bot", "--type", "kubernetes.io/ssh-auth"], env);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe("secret team/git created (keys: ssh-privatekey, username)\n");
    const stored = await new FileSecretStore(home).get({ kind: "Secret", namespace: "team", name: "git" });
    expect(stored?.data["ssh-privatekey"]?.toString()).toBe(readFileSync(key, "utf8"));
    expect(stored?.type).toBe("kubernetes.io/ssh-auth");

    const list = await cascade(["secret", "list", "--json"], env);
    expect(JSON.parse(list.stdout)).toMatchObject([{ kind: "Secret", namespace: "team", name: "git", keys: ["ssh-privatekey", "username"] }]);
    expect(list.stdout).not.toContain("key-bytes-0123");
    expect(list.stdout).not.toContain("bot");
    expect((await cascade(["secret", "list"], env)).stdout).toBe("team/git (kubernetes.io/ssh-auth)  keys: ssh-privatekey, username\n");
    // The file on disk holds neither value.
    const file = readFileSync(join(home, "secrets", "Secret", "team", "git.json"), "utf8");
    expect(file).not.toContain("key-bytes-0123");

    expect((await cascade(["secret", "delete", "git", "-n", "team"], env)).stdout).toBe("secret team/git deleted\n");
    const again = await cascade(["secret", "delete", "git", "-n", "team"], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('secret "team/git" not found');
  });

  it("keeps ConfigMaps apart from Secrets, with the same commands", async () => {
    expect((await cascade(["configmap", "create", "settings", "--from-literal", "colour=blue"], env)).stdout).toBe("configmap default/settings created (keys: colour)\n");
    expect((await cascade(["secret", "list"], env)).stdout).toBe("no secrets\n");
    expect((await cascade(["configmap", "list"], env)).stdout).toContain("default/settings  keys: colour");
    expect(readdirSync(join(home, "secrets", "ConfigMap", "default"))).toEqual(["settings.json"]);
  });

  it.each([
    [["secret", "create", "x", "--from-literal", "novalue"], /--from-literal novalue: expected KEY=VALUE/],
    [["secret", "create", "x", "--from-literal", "bad key=v"], /--from-literal bad key=\.\.\.: "bad key" is not a valid key/],
    [["secret", "create", "x", "--from-file", "k=/no/such/file"], /--from-file k=\/no\/such\/file: cannot read \/no\/such\/file: ENOENT/],
    [["secret", "create", "x", "--from-literal", "a=1", "--from-literal", "a=2"], /key "a" is given twice/],
    [["secret", "create", "Bad_Name", "--from-literal", "a=1"], /"Bad_Name" is not a valid name/],
    [["secret", "create", "x"], /secret create x needs --from-file KEY=PATH or --from-literal KEY=VALUE/],
    [["secret", "rotate", "x"], /unknown secret command "rotate"/],
  ])("refuses %j with exit 2 and a message naming the value", async (args, message) => {
    const r = await cascade(args as string[], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain("--from-literal a=1"); // values are not echoed
  });
});
