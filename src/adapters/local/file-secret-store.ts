/**
 * The local SecretStore: one file per Secret or ConfigMap under
 * `CASCADE_HOME/secrets/<kind>/<namespace>/<name>.json`, encrypted with
 * AES-256-GCM under a key kept beside them (`CASCADE_HOME/secrets/key`).
 * Folders are 0700 and files 0600, so only the user running Cascade reads
 * them; the key means that a copy of the files alone (a backup, a stray
 * `tar`) reveals nothing. The secret's kind, namespace and name are the
 * cipher's associated data, so a file moved to another name does not open.
 *
 * Written on node:crypto alone: the job is one cipher call each way, and no
 * library in the field does it with fewer moving parts.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, closeSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { CascadeError } from "../../core/errors.js";
import { parsePayload } from "../../core/webhooks/payload.js";
import { SecretId, SecretKind, type SecretStore, type SecretSummary, type StoredSecret } from "../../ports/secret-store.js";

const Sealed = z.object({ v: z.literal(1), iv: z.string(), tag: z.string(), data: z.string() });
const Plain = z.object({
  type: z.string().optional(),
  data: z.record(z.string(), z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const describeId = (id: SecretId) => `${id.kind ?? "secret"} ${id.namespace}/${id.name}`;

export class FileSecretStore implements SecretStore {
  private readonly root: string;
  private key: Buffer | undefined;

  constructor(home: string) {
    this.root = join(home, "secrets");
  }

  private ensureRoot(): void {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    chmodSync(this.root, 0o700);
  }

  /** The key, made on first use; two processes racing to make it agree on the first one written. */
  private keyBytes(): Buffer {
    if (this.key) return this.key;
    this.ensureRoot();
    const file = join(this.root, "key");
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, randomBytes(32).toString("base64"));
      closeSync(fd);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const key = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
    if (key.length !== 32) throw new CascadeError("SecretStoreCorrupt", `secret key ${file} is not 32 bytes of base64`);
    this.key = key;
    return key;
  }

  private file(id: SecretId): string {
    return join(this.root, id.kind, id.namespace, `${id.name}.json`);
  }

  private aad(id: SecretId): Buffer {
    return Buffer.from(`${id.kind}/${id.namespace}/${id.name}`);
  }

  private read(id: SecretId): z.infer<typeof Plain> | undefined {
    let text: string;
    try {
      text = readFileSync(this.file(id), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    const sealed = Sealed.parse(JSON.parse(text));
    const decipher = createDecipheriv("aes-256-gcm", this.keyBytes(), Buffer.from(sealed.iv, "base64"));
    decipher.setAAD(this.aad(id));
    decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64")), decipher.final()]);
    } catch (e) {
      throw new CascadeError("SecretStoreCorrupt", `${id.kind} ${id.namespace}/${id.name} does not decrypt with this CASCADE_HOME's key`, { cause: e });
    }
    return Plain.parse(JSON.parse(plain.toString("utf8")));
  }

  async get(raw: SecretId): Promise<StoredSecret | undefined> {
    const id = parsePayload(SecretId, raw, describeId(raw));
    const p = this.read(id);
    if (!p) return undefined;
    const data = Object.fromEntries(Object.entries(p.data).map(([k, v]) => [k, Buffer.from(v, "base64")]));
    return { ...id, ...(p.type ? { type: p.type } : {}), data, createdAt: p.createdAt, updatedAt: p.updatedAt };
  }

  async list(filter: { kind?: SecretKind; namespace?: string } = {}): Promise<SecretSummary[]> {
    const out: SecretSummary[] = [];
    const dirs = (p: string) => {
      try {
        return readdirSync(p).sort();
      } catch {
        return [];
      }
    };
    for (const kind of SecretKind.options) {
      if (filter.kind && filter.kind !== kind) continue;
      for (const namespace of dirs(join(this.root, kind))) {
        if (filter.namespace && filter.namespace !== namespace) continue;
        for (const f of dirs(join(this.root, kind, namespace))) {
          if (!f.endsWith(".json")) continue;
          const id = { kind, namespace, name: f.slice(0, -5) };
          const p = this.read(id);
          if (!p) continue;
          out.push({ ...id, ...(p.type ? { type: p.type } : {}), keys: Object.keys(p.data).sort(), createdAt: p.createdAt, updatedAt: p.updatedAt });
        }
      }
    }
    return out;
  }

  async put(secret: SecretId & { type?: string; data: Record<string, Buffer> }, now: string): Promise<{ created: boolean }> {
    const id = parsePayload(SecretId, { kind: secret.kind, namespace: secret.namespace, name: secret.name }, describeId(secret));
    const previous = this.read(id);
    const plain = Plain.parse({
      ...(secret.type ? { type: secret.type } : {}),
      data: Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, v.toString("base64")])),
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    });
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.keyBytes(), iv);
    cipher.setAAD(this.aad(id));
    const data = Buffer.concat([cipher.update(JSON.stringify(plain), "utf8"), cipher.final()]);
    const sealed = { v: 1, iv: iv.toString("base64"), tag: cipher.getAuthTag().toString("base64"), data: data.toString("base64") };
    const file = this.file(id);
    for (const dir of [join(this.root, id.kind), join(this.root, id.kind, id.namespace)]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(sealed), { mode: 0o600 });
    renameSync(tmp, file);
    return { created: previous === undefined };
  }

  howToCreate(id: SecretId): string {
    return `create it with "cascade ${id.kind === "Secret" ? "secret" : "configmap"} create ${id.name} -n ${id.namespace} --from-literal KEY=VALUE"`;
  }

  async delete(raw: SecretId): Promise<boolean> {
    const id = parsePayload(SecretId, raw, describeId(raw));
    if (!this.read(id)) return false;
    rmSync(this.file(id));
    return true;
  }
}
