/**
 * The SecretStore on AWS Secrets Manager: one Secrets Manager secret per
 * Cascade Secret or ConfigMap, named
 *
 *   <prefix>/<kind>/<namespace>/<name>      e.g. cascade/Secret/shop/git-credentials
 *
 * (`prefix` is `CASCADE_SECRETS_PREFIX`, default `cascade`; `kind` is
 * `Secret` or `ConfigMap`), whose SecretString is a JSON document in the
 * shape of a Kubernetes Secret's body:
 *
 *   {
 *     "type": "kubernetes.io/basic-auth",        optional: Kubernetes' secret type
 *     "data": { "username": "Ym90" },            each key's bytes, base64
 *     "stringData": { "password": "..." },       optional: keys as UTF-8 text (read only; wins over data)
 *     "createdAt": "...", "updatedAt": "..."     optional: ISO times, kept by Cascade's own writes
 *   }
 *
 * Cascade writes `type`, `data`, `createdAt` and `updatedAt`; a secret made
 * by hand with `aws secretsmanager create-secret` may give `stringData`
 * instead of base64, and leave the times out (then the date of the value's
 * version, or ListSecrets' dates, stand in). Any other field, a key that is
 * not a Kubernetes key, or a `data` value that is not base64 is an error
 * naming the secret and the field: nothing is dropped silently.
 *
 * - `get` is GetSecretValue (`ResourceNotFoundException`: undefined).
 * - `list` is ListSecrets with a `name` filter on the prefix (paginated with
 *   NextToken), then GetSecretValue of each listed secret, since ListSecrets
 *   shows no keys; only the keys are kept. Names under the prefix that are
 *   not `<kind>/<namespace>/<name>` are skipped.
 * - `put` reads the current value (for `createdAt`), then CreateSecret, or
 *   PutSecretValue when it exists; a secret created or deleted by someone
 *   else meanwhile is retried the other way.
 * - `delete` is DeleteSecret with ForceDeleteWithoutRecovery
 *   (`ResourceNotFoundException`: false), as a deleted Kubernetes Secret is
 *   gone. Secrets Manager removes the name asynchronously, so a put of the
 *   same name right after may fail for a short while.
 * - A secret scheduled for deletion outside Cascade (the console's recovery
 *   window) is not listed, and reading or writing it fails with Secrets
 *   Manager's InvalidRequestException, named.
 *
 * Other SDK errors go through `translateAwsError`, naming the operation, the
 * Cascade secret and the Secrets Manager name. Values never appear in an
 * error. Only the client's `send` is used.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { z } from "zod";
import { ConflictError, ValidationError } from "../../core/errors.js";
import { parsePayload } from "../../core/webhooks/payload.js";
import {
  describeSecret,
  SecretId,
  SecretKey,
  SecretKind,
  type SecretStore,
  type SecretSummary,
  type StoredSecret,
} from "../../ports/secret-store.js";
import { translateAwsError } from "./sdk-errors.js";

/** Secrets Manager's name characters, in `/`-separated segments, none empty. */
const SEGMENT = /^[A-Za-z0-9_+=.@-]+$/;
export const DEFAULT_SECRETS_PREFIX = "cascade";

/** The name prefix of Cascade's secrets in Secrets Manager (`CASCADE_SECRETS_PREFIX`). */
export const SecretsPrefix = z
  .string()
  .min(1)
  .max(128)
  .refine((p) => p.split("/").every((s) => SEGMENT.test(s)), {
    error: (iss) => `${JSON.stringify(iss.input)} is not a valid secrets prefix: use letters, digits and _+=.@- in '/'-separated parts, with no leading, trailing or doubled '/'`,
  });

/** Secrets Manager's limit on a SecretString, in bytes. */
export const MAX_SECRET_STRING_BYTES = 65_536;

const IsoTime = z.iso.datetime({ offset: true });

/** The SecretString of a Cascade secret in Secrets Manager (see the header). */
export const SecretDocument = z.strictObject({
  type: z.string().min(1).optional(),
  data: z.record(z.string(), z.base64()).default({}),
  stringData: z.record(z.string(), z.string()).optional(),
  createdAt: IsoTime.optional(),
  updatedAt: IsoTime.optional(),
});
export type SecretDocument = z.infer<typeof SecretDocument>;

/** The Secrets Manager name of a Cascade Secret or ConfigMap. */
export function secretName(prefix: string, id: SecretId): string {
  return `${prefix}/${id.kind}/${id.namespace}/${id.name}`;
}

/** The Cascade Secret or ConfigMap a Secrets Manager name stands for, or undefined if it is none under `prefix`. */
export function parseSecretName(prefix: string, name: string): SecretId | undefined {
  if (!name.startsWith(`${prefix}/`)) return undefined;
  const parts = name.slice(prefix.length + 1).split("/");
  if (parts.length !== 3) return undefined;
  const parsed = SecretId.safeParse({ kind: parts[0], namespace: parts[1], name: parts[2] });
  return parsed.success ? parsed.data : undefined;
}

export interface SecretsManagerStoreOptions {
  client: Pick<SecretsManagerClient, "send">;
  /** Default `cascade`. */
  prefix?: string;
  /** How many secrets `list` reads at once (their keys). Default 8. */
  listConcurrency?: number;
}

interface Decoded {
  type?: string;
  data: Record<string, Buffer>;
  createdAt: string;
  updatedAt: string;
}

const errorName = (e: unknown) => (e as { name?: string } | null)?.name;
const iso = (d: Date | undefined, fallback: string) => (d instanceof Date && !Number.isNaN(d.getTime()) ? d.toISOString() : fallback);

export class SecretsManagerStore implements SecretStore {
  readonly prefix: string;
  private readonly concurrency: number;

  constructor(private readonly o: SecretsManagerStoreOptions) {
    this.prefix = parsePayload(SecretsPrefix, o.prefix ?? DEFAULT_SECRETS_PREFIX, "Secrets Manager store: prefix");
    this.concurrency = Math.max(1, o.listConcurrency ?? 8);
  }

  private id(raw: SecretId): SecretId {
    return parsePayload(SecretId, { kind: raw.kind, namespace: raw.namespace, name: raw.name }, `${raw.kind ?? "secret"} ${raw.namespace}/${raw.name}`);
  }

  private what(op: string, id: SecretId): string {
    return `Secrets Manager ${op} of ${describeSecret(id)} (${secretName(this.prefix, id)})`;
  }

  /** The document of a SecretString, with `stringData` folded into `data`; an error names the secret and the field. */
  private decode(id: SecretId, text: string | undefined, dates: { createdAt: string; updatedAt: string }): Decoded {
    const where = `${describeSecret(id)} in Secrets Manager (${secretName(this.prefix, id)})`;
    if (text === undefined) throw new ValidationError(`${where} has no SecretString: write it as JSON {"data": {KEY: BASE64}}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ValidationError(`${where}: SecretString is not JSON: write it as {"data": {KEY: BASE64}}`);
    }
    const doc = parsePayload(SecretDocument, json, where);
    for (const field of ["data", "stringData"] as const) {
      for (const k of Object.keys(doc[field] ?? {})) {
        const key = SecretKey.safeParse(k);
        if (!key.success) throw new ValidationError(`${where}: ${field}.${k}: ${key.error.issues[0]!.message}`);
      }
    }
    const data: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(doc.data)) data[k] = Buffer.from(v, "base64");
    for (const [k, v] of Object.entries(doc.stringData ?? {})) data[k] = Buffer.from(v, "utf8");
    return {
      ...(doc.type ? { type: doc.type } : {}),
      data,
      createdAt: doc.createdAt ?? dates.createdAt,
      updatedAt: doc.updatedAt ?? doc.createdAt ?? dates.updatedAt,
    };
  }

  /** The current SecretString and its version's date, or undefined when there is no such secret. */
  private async fetch(id: SecretId): Promise<{ text: string | undefined; versionDate: string } | undefined> {
    try {
      const res = await this.o.client.send(new GetSecretValueCommand({ SecretId: secretName(this.prefix, id) }));
      return { text: res.SecretString, versionDate: iso(res.CreatedDate, new Date(0).toISOString()) };
    } catch (e) {
      if (errorName(e) === "ResourceNotFoundException") return undefined;
      throw translateAwsError(e, this.what("GetSecretValue", id));
    }
  }

  howToCreate(id: SecretId): string {
    return `create the Secrets Manager secret ${secretName(this.prefix, id)} (see infra/README.md, "Secrets")`;
  }

  async get(raw: SecretId): Promise<StoredSecret | undefined> {
    const id = this.id(raw);
    const got = await this.fetch(id);
    if (!got) return undefined;
    const d = this.decode(id, got.text, { createdAt: got.versionDate, updatedAt: got.versionDate });
    return { ...id, ...d };
  }

  async list(filter: { kind?: SecretKind; namespace?: string } = {}): Promise<SecretSummary[]> {
    const kinds = filter.kind ? [parsePayload(SecretKind, filter.kind, "secret list: kind")] : SecretKind.options;
    const ns = filter.namespace === undefined ? "" : `${parsePayload(SecretId.shape.namespace, filter.namespace, "secret list: namespace")}/`;
    const prefixes = kinds.map((k) => `${this.prefix}/${k}/${ns}`);
    const found: { id: SecretId; created?: Date; changed?: Date }[] = [];
    let token: string | undefined;
    do {
      let res;
      try {
        res = await this.o.client.send(
          new ListSecretsCommand({ Filters: [{ Key: "name", Values: prefixes }], MaxResults: 100, ...(token ? { NextToken: token } : {}) }),
        );
      } catch (e) {
        throw translateAwsError(e, `Secrets Manager ListSecrets of names starting ${prefixes.map((p) => JSON.stringify(p)).join(" or ")}`);
      }
      for (const entry of res.SecretList ?? []) {
        if (entry.DeletedDate) continue; // scheduled for deletion: gone, as far as Cascade is concerned
        const id = entry.Name ? parseSecretName(this.prefix, entry.Name) : undefined;
        // The filter matches by prefix: check the whole name again.
        if (!id || !prefixes.some((p) => entry.Name!.startsWith(p))) continue;
        found.push({ id, ...(entry.CreatedDate ? { created: entry.CreatedDate } : {}), ...(entry.LastChangedDate ? { changed: entry.LastChangedDate } : {}) });
      }
      token = res.NextToken || undefined;
    } while (token);

    const out: SecretSummary[] = [];
    for (let i = 0; i < found.length; i += this.concurrency) {
      const batch = await Promise.all(
        found.slice(i, i + this.concurrency).map(async ({ id, created, changed }) => {
          const got = await this.fetch(id);
          if (!got) return undefined; // deleted since it was listed
          const createdAt = iso(created, got.versionDate);
          const d = this.decode(id, got.text, { createdAt, updatedAt: iso(changed, got.versionDate) });
          const summary: SecretSummary = { ...id, ...(d.type ? { type: d.type } : {}), keys: Object.keys(d.data).sort(), createdAt: d.createdAt, updatedAt: d.updatedAt };
          return summary;
        }),
      );
      for (const s of batch) if (s) out.push(s);
    }
    const kindOrder = (k: SecretKind) => SecretKind.options.indexOf(k);
    return out.sort((a, b) => kindOrder(a.kind) - kindOrder(b.kind) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  }

  async put(secret: SecretId & { type?: string; data: Record<string, Buffer> }, now: string): Promise<{ created: boolean }> {
    const id = this.id(secret);
    for (const k of Object.keys(secret.data)) parsePayload(SecretKey, k, `${describeSecret(id)}: data`);
    const name = secretName(this.prefix, id);
    const body = (createdAt: string) => {
      const doc: SecretDocument = {
        ...(secret.type ? { type: secret.type } : {}),
        data: Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, v.toString("base64")])),
        createdAt,
        updatedAt: now,
      };
      const text = JSON.stringify(doc);
      const bytes = Buffer.byteLength(text, "utf8");
      if (bytes > MAX_SECRET_STRING_BYTES) {
        throw new ValidationError(`${describeSecret(id)} is ${bytes} bytes as a Secrets Manager SecretString (values in base64); the limit is ${MAX_SECRET_STRING_BYTES}`);
      }
      return text;
    };

    // Create when absent, replace when present; another writer may create or delete it in between.
    for (let attempt = 0; attempt < 3; attempt++) {
      const previous = await this.fetch(id);
      if (!previous) {
        try {
          await this.o.client.send(new CreateSecretCommand({ Name: name, SecretString: body(now), Description: `Cascade ${describeSecret(id)}` }));
          return { created: true };
        } catch (e) {
          if (errorName(e) === "ResourceExistsException") continue;
          throw translateAwsError(e, this.what("CreateSecret", id));
        }
      }
      let createdAt = now;
      try {
        createdAt = this.decode(id, previous.text, { createdAt: previous.versionDate, updatedAt: previous.versionDate }).createdAt;
      } catch {
        // An unreadable value is replaced: this write makes it a Cascade secret again.
      }
      try {
        await this.o.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: body(createdAt) }));
        return { created: false };
      } catch (e) {
        if (errorName(e) === "ResourceNotFoundException") continue;
        throw translateAwsError(e, this.what("PutSecretValue", id));
      }
    }
    throw new ConflictError(`${this.what("put", id)}: another writer created or deleted it three times while this one wrote it; try again`);
  }

  async delete(raw: SecretId): Promise<boolean> {
    const id = this.id(raw);
    try {
      await this.o.client.send(new DeleteSecretCommand({ SecretId: secretName(this.prefix, id), ForceDeleteWithoutRecovery: true }));
      return true;
    } catch (e) {
      if (errorName(e) === "ResourceNotFoundException") return false;
      throw translateAwsError(e, this.what("DeleteSecret", id));
    }
  }
}
