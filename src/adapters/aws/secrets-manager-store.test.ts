/**
 * The Secrets Manager SecretStore: the shared SecretStore contract, against
 * an in-memory Secrets Manager with the service's semantics
 * (test/support/fake-secrets-manager.ts; the service cannot run here), then
 * its naming, its document, pagination, deletion and error translation.
 */
import { describe, expect, it } from "vitest";
import { CascadeError, NotFoundError, ValidationError } from "../../core/errors.js";
import { describeSecretStoreContract } from "../../ports/secret-store.contract.js";
import { rejection, sdkError } from "../../../test/support/aws-fakes.js";
import { fakeSecretsManager } from "../../../test/support/fake-secrets-manager.js";
import { parseSecretName, secretName, SecretsManagerStore, SecretsPrefix } from "./secrets-manager-store.js";

const T0 = "2026-12-01T10:00:00.000Z";
const T1 = "2026-12-01T11:00:00.000Z";

describeSecretStoreContract("Secrets Manager (in-memory, paginating by 2)", async () => {
  const sm = fakeSecretsManager({ pageLimit: 2 });
  return { store: new SecretsManagerStore({ client: sm.client }), dispose: async () => {} };
});

describeSecretStoreContract("Secrets Manager (in-memory, prefix team-a/cascade)", async () => {
  const sm = fakeSecretsManager();
  return { store: new SecretsManagerStore({ client: sm.client, prefix: "team-a/cascade" }), dispose: async () => {} };
});

const make = (o: { pageLimit?: number; prefix?: string } = {}) => {
  const sm = fakeSecretsManager(o.pageLimit ? { pageLimit: o.pageLimit } : {});
  return { sm, store: new SecretsManagerStore({ client: sm.client, ...(o.prefix ? { prefix: o.prefix } : {}) }) };
};

describe("Secrets Manager names", () => {
  it("are <prefix>/<kind>/<namespace>/<name>, and parse back only when they are one", () => {
    const id = { kind: "Secret" as const, namespace: "shop", name: "git.credentials" };
    expect(secretName("cascade", id)).toBe("cascade/Secret/shop/git.credentials");
    expect(secretName("org/ci", { ...id, kind: "ConfigMap" })).toBe("org/ci/ConfigMap/shop/git.credentials");
    expect(parseSecretName("cascade", "cascade/Secret/shop/git.credentials")).toEqual(id);
    expect(parseSecretName("org/ci", "org/ci/ConfigMap/shop/git.credentials")).toEqual({ ...id, kind: "ConfigMap" });
    for (const other of ["cascade/Secret/shop", "cascade/Secret/shop/a/b", "cascade/Token/shop/a", "cascade/Secret/Shop/a", "cascadex/Secret/shop/a", "other/Secret/shop/a", "cascade/Secret/shop/Bad_Name"]) {
      expect(parseSecretName("cascade", other), other).toBeUndefined();
    }
  });

  it("take a prefix of Secrets Manager's characters, refused by value otherwise", () => {
    expect(SecretsPrefix.parse("cascade")).toBe("cascade");
    expect(SecretsPrefix.parse("org/ci_1")).toBe("org/ci_1");
    for (const bad of ["", "/cascade", "cascade/", "a//b", "has space", "ünï"]) expect(SecretsPrefix.safeParse(bad).success, bad).toBe(false);
    expect(() => new SecretsManagerStore({ client: fakeSecretsManager().client, prefix: "cascade/" })).toThrow(/"cascade\/" is not a valid secrets prefix/);
  });
});

describe("SecretsManagerStore", () => {
  it("keeps each secret as one Secrets Manager secret whose SecretString is the JSON document", async () => {
    const { sm, store } = make();
    await store.put({ kind: "Secret", namespace: "shop", name: "git", type: "kubernetes.io/basic-auth", data: { username: Buffer.from("bot"), password: Buffer.from("hunter22") } }, T0);
    expect(sm.names()).toEqual(["cascade/Secret/shop/git"]);
    expect(JSON.parse(sm.secretString("cascade/Secret/shop/git")!)).toEqual({
      type: "kubernetes.io/basic-auth",
      data: { username: Buffer.from("bot").toString("base64"), password: Buffer.from("hunter22").toString("base64") },
      createdAt: T0,
      updatedAt: T0,
    });
    const [create] = sm.client.inputs("CreateSecretCommand");
    expect(create.Description).toBe('Cascade secret "shop/git"');
    expect(create.Description).not.toContain("hunter22");
    // A replacement is a new version of the same secret, not a second secret.
    await store.put({ kind: "Secret", namespace: "shop", name: "git", data: { token: Buffer.from("t0k3n") } }, T1);
    expect(sm.names()).toEqual(["cascade/Secret/shop/git"]);
    expect(sm.client.inputs("PutSecretValueCommand").map((i) => i.SecretId)).toEqual(["cascade/Secret/shop/git"]);
    expect(JSON.parse(sm.secretString("cascade/Secret/shop/git")!)).toMatchObject({ createdAt: T0, updatedAt: T1 });
  });

  it("reads a secret made by hand: stringData as text, no times (the version's date stands in)", async () => {
    const { sm, store } = make();
    await sm.client.send(
      new (await import("@aws-sdk/client-secrets-manager")).CreateSecretCommand({
        Name: "cascade/Secret/shop/hook",
        SecretString: JSON.stringify({ stringData: { WebHookSecretKey: "s3cret-hook" }, data: { WebHookSecretKey: Buffer.from("overridden").toString("base64"), other: "AAE=" } }),
      }),
    );
    const got = await store.get({ kind: "Secret", namespace: "shop", name: "hook" });
    expect(got?.data["WebHookSecretKey"]?.toString()).toBe("s3cret-hook"); // stringData wins, as in Kubernetes
    expect(got?.data["other"]).toEqual(Buffer.from([0, 1]));
    expect(Date.parse(got!.createdAt)).not.toBeNaN();
    expect(got?.updatedAt).toBe(got?.createdAt);
    expect((await store.list())[0]).toMatchObject({ name: "hook", keys: ["WebHookSecretKey", "other"] });
  });

  it("refuses a SecretString that is not its document, naming the secret and the field, never the value", async () => {
    const { sm, store } = make();
    const { CreateSecretCommand } = await import("@aws-sdk/client-secrets-manager");
    const put = (name: string, s: string | Uint8Array) =>
      sm.client.send(new CreateSecretCommand({ Name: `cascade/Secret/shop/${name}`, ...(typeof s === "string" ? { SecretString: s } : { SecretBinary: s }) }));
    await put("flat", JSON.stringify({ WebHookSecretKey: "flat-value" }));
    await put("b64", JSON.stringify({ data: { k: "not base64!" } }));
    await put("key", JSON.stringify({ data: { "bad/key": "AA==" } }));
    await put("text", "plain-text-value");
    await put("bin", new Uint8Array([1, 2, 3]));
    const err = (name: string) => rejection<Error>(store.get({ kind: "Secret", namespace: "shop", name }));
    const flat = await err("flat");
    expect(flat).toBeInstanceOf(ValidationError);
    expect(flat.message).toMatch(/^secret "shop\/flat" in Secrets Manager \(cascade\/Secret\/shop\/flat\): .*WebHookSecretKey/);
    expect(flat.message).not.toContain("flat-value");
    expect((await err("b64")).message).toMatch(/\(cascade\/Secret\/shop\/b64\): data\.k: /);
    expect((await err("key")).message).toMatch(/"bad\/key" is not a valid key/);
    expect((await err("text")).message).toBe('secret "shop/text" in Secrets Manager (cascade/Secret/shop/text): SecretString is not JSON: write it as {"data": {KEY: BASE64}}');
    expect((await err("bin")).message).toMatch(/\(cascade\/Secret\/shop\/bin\) has no SecretString/);
    // list reads each value for its keys: a bad one is named there too.
    await expect(store.list({ namespace: "shop" })).rejects.toThrow(/cascade\/Secret\/shop\/(flat|b64|key|text|bin)/);
    // put replaces an unreadable value, and starts its history there.
    expect(await store.put({ kind: "Secret", namespace: "shop", name: "text", data: { k: Buffer.from("v") } }, T1)).toEqual({ created: false });
    expect((await store.get({ kind: "Secret", namespace: "shop", name: "text" }))?.createdAt).toBe(T1);
  });

  it("lists with a name-prefix filter, following NextToken over short pages, and only Cascade-shaped names", async () => {
    const { sm, store } = make({ pageLimit: 3 });
    for (let i = 0; i < 7; i++) await store.put({ kind: "Secret", namespace: "a", name: `s${i}`, data: { k: Buffer.from(`v${i}`) } }, T0);
    await store.put({ kind: "ConfigMap", namespace: "a", name: "conf", data: { k: Buffer.from("c") } }, T0);
    await store.put({ kind: "Secret", namespace: "ab", name: "other-ns", data: { k: Buffer.from("x") } }, T0);
    const { CreateSecretCommand } = await import("@aws-sdk/client-secrets-manager");
    for (const Name of ["cascade/Secret/a/deeper/still", "cascade/Secret/a/Not_A_Name", "unrelated/Secret/a/x", "cascadeX/Secret/a/x"]) {
      await sm.client.send(new CreateSecretCommand({ Name, SecretString: JSON.stringify({ data: {} }) }));
    }
    sm.client.calls.length = 0;
    const names = (await store.list({ kind: "Secret", namespace: "a" })).map((s) => s.name);
    expect(names).toEqual(["s0", "s1", "s2", "s3", "s4", "s5", "s6"]);
    const lists = sm.client.inputs("ListSecretsCommand");
    expect(lists.length).toBe(3); // 3 + 3 + 3 names under cascade/Secret/a/, the last page without a token
    expect(lists[0]).toEqual({ Filters: [{ Key: "name", Values: ["cascade/Secret/a/"] }], MaxResults: 100 });
    expect(lists[1].NextToken).toEqual(expect.any(String));
    // Without a kind: one filter, both kinds' prefixes OR'ed.
    sm.client.calls.length = 0;
    expect((await store.list({ namespace: "a" })).map((s) => `${s.kind}/${s.name}`)).toEqual([...names.map((n) => `Secret/${n}`), "ConfigMap/conf"]);
    expect(sm.client.inputs("ListSecretsCommand")[0].Filters).toEqual([{ Key: "name", Values: ["cascade/Secret/a/", "cascade/ConfigMap/a/"] }]);
    expect((await store.list()).map((s) => `${s.kind}/${s.namespace}/${s.name}`)).toContain("Secret/ab/other-ns");
    await expect(store.list({ namespace: "A_B" })).rejects.toThrow(/secret list: namespace: .*"A_B" is not a valid namespace/);
  });

  it("deletes without a recovery window, and leaves out secrets scheduled for deletion elsewhere", async () => {
    const { sm, store } = make();
    await store.put({ kind: "Secret", namespace: "a", name: "gone", data: { k: Buffer.from("v") } }, T0);
    expect(await store.delete({ kind: "Secret", namespace: "a", name: "gone" })).toBe(true);
    expect(sm.client.inputs("DeleteSecretCommand")[0]).toEqual({ SecretId: "cascade/Secret/a/gone", ForceDeleteWithoutRecovery: true });
    expect(sm.names()).toEqual([]);
    // Someone deleted one in the console: its recovery window keeps the name, but it is no secret of Cascade's any more.
    await store.put({ kind: "Secret", namespace: "a", name: "console", data: { k: Buffer.from("v") } }, T0);
    sm.scheduleDeletion("cascade/Secret/a/console");
    expect(await store.list()).toEqual([]);
    const e = await rejection<CascadeError>(store.get({ kind: "Secret", namespace: "a", name: "console" }));
    expect(e.message).toBe(
      'Secrets Manager GetSecretValue of secret "a/console" (cascade/Secret/a/console): InvalidRequestException: You can\'t perform this operation on the secret because it was marked for deletion.',
    );
    expect(e.temporary).toBe(false);
    await expect(store.put({ kind: "Secret", namespace: "a", name: "console", data: {} }, T1)).rejects.toThrow(/GetSecretValue .*marked for deletion/);
  });

  it("translates other SDK errors, naming the operation, the secret and its name; not-found only where the port allows it", async () => {
    const { sm, store } = make();
    const id = { kind: "ConfigMap" as const, namespace: "shop", name: "maven" };
    sm.client.handlers.GetSecretValueCommand = () => {
      throw sdkError("AccessDeniedException", "User is not authorized to perform: secretsmanager:GetSecretValue", 400);
    };
    const denied = await rejection<CascadeError>(store.get(id));
    expect([denied.code, denied.temporary]).toEqual(["AccessDenied", false]);
    expect(denied.message).toBe(
      'Secrets Manager GetSecretValue of configmap "shop/maven" (cascade/ConfigMap/shop/maven): AccessDeniedException: User is not authorized to perform: secretsmanager:GetSecretValue',
    );
    sm.client.handlers.GetSecretValueCommand = () => {
      throw sdkError("InternalServiceError", "An error occurred on the server side.", 500);
    };
    const fault = await rejection<CascadeError>(store.get(id));
    expect([fault.code, fault.temporary]).toEqual(["AwsError", true]);
    sm.client.handlers.GetSecretValueCommand = () => {
      throw sdkError("DecryptionFailure", "Secrets Manager can't decrypt the protected secret text using the provided KMS key.");
    };
    expect((await rejection<CascadeError>(store.get(id))).message).toMatch(/^Secrets Manager GetSecretValue of configmap "shop\/maven" .*DecryptionFailure/);

    sm.client.handlers.ListSecretsCommand = () => {
      throw sdkError("ThrottlingException", "Rate exceeded", 400);
    };
    const throttled = await rejection<CascadeError>(store.list({ kind: "Secret" }));
    expect(throttled.temporary).toBe(true);
    expect(throttled.message).toBe('Secrets Manager ListSecrets of names starting "cascade/Secret/": ThrottlingException: Rate exceeded');

    sm.client.handlers.DeleteSecretCommand = () => {
      throw sdkError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    };
    expect(await store.delete(id)).toBe(false);
    sm.client.handlers.DeleteSecretCommand = () => {
      throw sdkError("AccessDeniedException", "no", 400);
    };
    expect((await rejection<CascadeError>(store.delete(id))).message).toMatch(/^Secrets Manager DeleteSecret of configmap "shop\/maven" \(cascade\/ConfigMap\/shop\/maven\): AccessDeniedException/);

    // A not-found from CreateSecret is no "absent": it is an error (here, say, a missing KMS key).
    const fresh = make();
    fresh.sm.client.handlers.CreateSecretCommand = () => {
      throw sdkError("ResourceNotFoundException", "KMS key not found");
    };
    const nf = await rejection<CascadeError>(fresh.store.put({ ...id, data: {} }, T0));
    expect(nf).toBeInstanceOf(NotFoundError);
    expect(nf.message).toMatch(/^Secrets Manager CreateSecret of configmap "shop\/maven"/);
  });

  it("puts across a concurrent create or delete by another writer", async () => {
    const { sm, store } = make();
    const id = { kind: "Secret" as const, namespace: "a", name: "race" };
    const real = sm.client.handlers;
    // Another writer creates it between our read and our CreateSecret.
    const create = real.CreateSecretCommand!;
    let once = true;
    sm.client.handlers = {
      ...real,
      CreateSecretCommand: (input, n) => {
        if (once) {
          once = false;
          create({ Name: input.Name, SecretString: JSON.stringify({ data: {}, createdAt: T0, updatedAt: T0 }) }, n);
        }
        return create(input, n);
      },
    };
    expect(await store.put({ ...id, data: { k: Buffer.from("mine") } }, T1)).toEqual({ created: false });
    expect(await store.get(id)).toMatchObject({ createdAt: T0, updatedAt: T1 });
    expect((await store.get(id))?.data["k"]?.toString()).toBe("mine");
    // Another writer deletes it between our read and our PutSecretValue.
    const putValue = real.PutSecretValueCommand!;
    once = true;
    sm.client.handlers = {
      ...real,
      PutSecretValueCommand: (input, n) => {
        if (once) {
          once = false;
          real.DeleteSecretCommand!({ SecretId: input.SecretId, ForceDeleteWithoutRecovery: true }, n);
        }
        return putValue(input, n);
      },
    };
    expect(await store.put({ ...id, data: { k: Buffer.from("again") } }, "2026-12-01T12:00:00.000Z")).toEqual({ created: true });
    expect(await store.get(id)).toMatchObject({ createdAt: "2026-12-01T12:00:00.000Z" });
  });

  it("refuses, before any call, a key Kubernetes refuses or a value over Secrets Manager's 64 KiB", async () => {
    const { sm, store } = make();
    await expect(store.put({ kind: "Secret", namespace: "a", name: "k", data: { "no/slash": Buffer.from("v") } }, T0)).rejects.toThrow(/"no\/slash" is not a valid key/);
    await expect(store.put({ kind: "Secret", namespace: "a", name: "big", data: { k: Buffer.alloc(50_000) } }, T0)).rejects.toThrow(
      /^secret "a\/big" is 66\d{3} bytes as a Secrets Manager SecretString \(values in base64\); the limit is 65536$/,
    );
    expect(sm.client.inputs("CreateSecretCommand")).toEqual([]);
    // Just under the limit is fine.
    await store.put({ kind: "Secret", namespace: "a", name: "fits", data: { k: Buffer.alloc(48_000) } }, T0);
    expect((await store.get({ kind: "Secret", namespace: "a", name: "fits" }))?.data["k"]?.length).toBe(48_000);
  });
});
