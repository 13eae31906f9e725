/**
 * An in-memory AWS Secrets Manager behind the SDK client's `send` (Secrets
 * Manager cannot run here), with the service's semantics for the commands
 * Cascade uses:
 *
 * - CreateSecret: ResourceExistsException on an existing name,
 *   InvalidRequestException on a name scheduled for deletion,
 *   InvalidParameterException on a name Secrets Manager refuses (characters
 *   other than letters, digits and /_+=.@-, or over 512) or a SecretString
 *   over 65,536 bytes.
 * - GetSecretValue, PutSecretValue: by name or ARN; ResourceNotFoundException
 *   on a missing secret, InvalidRequestException on one scheduled for
 *   deletion. Each PutSecretValue makes a new AWSCURRENT version.
 * - DeleteSecret: ResourceNotFoundException on a missing secret;
 *   ForceDeleteWithoutRecovery removes it at once, otherwise it is scheduled
 *   for deletion (RecoveryWindowInDays, 7 to 30, default 30); both together
 *   are an InvalidParameterException.
 * - ListSecrets: `name` filters match by prefix, case-sensitive, their values
 *   OR'ed; secrets scheduled for deletion only with IncludePlannedDeletion;
 *   MaxResults 1 to 100 (InvalidParameterException otherwise); pages chained
 *   by an opaque NextToken (InvalidNextTokenException for one it did not
 *   issue). `pageLimit` makes pages shorter than MaxResults, as the service
 *   may return them, so that callers must follow NextToken.
 *
 * Every call is recorded (`client.calls`, `client.inputs(command)`), as with
 * the other fakes in aws-fakes.ts; a command it does not model fails loudly.
 */
import { randomBytes } from "node:crypto";
import { fakeClient, sdkError, type FakeClient } from "./aws-fakes.js";

const ACCOUNT = "111122223333";
const REGION = "us-east-1";
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const MAX_SECRET_STRING = 65_536;

interface Version {
  id: string;
  secretString?: string;
  secretBinary?: Uint8Array;
  created: Date;
}

interface Entry {
  name: string;
  arn: string;
  description?: string;
  created: Date;
  changed: Date;
  deleted?: Date;
  versions: Version[];
}

export interface FakeSecretsManager {
  client: FakeClient;
  /** The SecretString of a secret's current version (tests look at what rests in the service). */
  secretString(name: string): string | undefined;
  /** Names present, in creation order (scheduled ones included). */
  names(): string[];
  /** What the console's delete does: schedule the deletion, with a recovery window. */
  scheduleDeletion(name: string): void;
}

export function fakeSecretsManager(o: { pageLimit?: number; now?: () => Date } = {}): FakeSecretsManager {
  const now = o.now ?? (() => new Date());
  const secrets = new Map<string, Entry>();
  const tokens = new Map<string, { offset: number; query: string }>();
  let version = 0;

  const notFound = () => sdkError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
  const lookup = (secretId: string): Entry => {
    const e = secrets.get(secretId) ?? [...secrets.values()].find((s) => s.arn === secretId);
    if (!e) throw notFound();
    return e;
  };
  const live = (secretId: string): Entry => {
    const e = lookup(secretId);
    if (e.deleted) throw sdkError("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.");
    return e;
  };
  const checkValue = (input: { SecretString?: string; SecretBinary?: Uint8Array }) => {
    if (input.SecretString !== undefined && input.SecretBinary !== undefined) throw sdkError("InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.");
    if (input.SecretString !== undefined && Buffer.byteLength(input.SecretString, "utf8") > MAX_SECRET_STRING) {
      throw sdkError("InvalidParameterException", "The secret value exceeds the 65536 bytes quota.");
    }
  };
  const newVersion = (input: { SecretString?: string; SecretBinary?: Uint8Array }): Version => ({
    id: `v-${++version}`,
    ...(input.SecretString !== undefined ? { secretString: input.SecretString } : {}),
    ...(input.SecretBinary !== undefined ? { secretBinary: input.SecretBinary } : {}),
    created: now(),
  });
  const current = (e: Entry) => e.versions.at(-1)!;

  const client = fakeClient({
    CreateSecretCommand: (input) => {
      if (typeof input.Name !== "string" || !NAME.test(input.Name)) {
        throw sdkError("InvalidParameterException", "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!");
      }
      checkValue(input);
      const existing = secrets.get(input.Name);
      if (existing?.deleted) throw sdkError("InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.");
      if (existing) throw sdkError("ResourceExistsException", `The operation failed because the secret ${input.Name} already exists.`);
      const t = now();
      const e: Entry = {
        name: input.Name,
        arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${input.Name}-${randomBytes(3).toString("hex")}`,
        ...(input.Description !== undefined ? { description: input.Description } : {}),
        created: t,
        changed: t,
        versions: input.SecretString !== undefined || input.SecretBinary !== undefined ? [newVersion(input)] : [],
      };
      secrets.set(e.name, e);
      return { ARN: e.arn, Name: e.name, VersionId: e.versions[0]?.id };
    },
    GetSecretValueCommand: (input) => {
      const e = live(input.SecretId);
      const v = e.versions.at(-1);
      if (!v) throw sdkError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT");
      return {
        ARN: e.arn,
        Name: e.name,
        VersionId: v.id,
        ...(v.secretString !== undefined ? { SecretString: v.secretString } : {}),
        ...(v.secretBinary !== undefined ? { SecretBinary: v.secretBinary } : {}),
        VersionStages: ["AWSCURRENT"],
        CreatedDate: v.created,
      };
    },
    PutSecretValueCommand: (input) => {
      const e = live(input.SecretId);
      checkValue(input);
      const v = newVersion(input);
      e.versions.push(v);
      e.changed = v.created;
      return { ARN: e.arn, Name: e.name, VersionId: v.id, VersionStages: ["AWSCURRENT"] };
    },
    DeleteSecretCommand: (input) => {
      if (input.ForceDeleteWithoutRecovery && input.RecoveryWindowInDays !== undefined) {
        throw sdkError("InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
      }
      const e = lookup(input.SecretId);
      if (input.ForceDeleteWithoutRecovery) {
        secrets.delete(e.name);
        return { ARN: e.arn, Name: e.name, DeletionDate: now() };
      }
      if (e.deleted) throw sdkError("InvalidRequestException", "You can't perform this operation on the secret because it was already scheduled for deletion.");
      const days = input.RecoveryWindowInDays ?? 30;
      if (days < 7 || days > 30) throw sdkError("InvalidParameterException", "RecoveryWindowInDays must be between 7 and 30.");
      e.deleted = now();
      return { ARN: e.arn, Name: e.name, DeletionDate: new Date(e.deleted.getTime() + days * 86_400_000) };
    },
    ListSecretsCommand: (input) => {
      const max = input.MaxResults ?? 100;
      if (!Number.isInteger(max) || max < 1 || max > 100) throw sdkError("InvalidParameterException", `MaxResults ${max} is not between 1 and 100.`);
      const prefixes: string[] = [];
      for (const f of input.Filters ?? []) {
        if (f.Key !== "name") throw new Error(`fake Secrets Manager: ListSecrets filter key ${f.Key} is not modelled`);
        for (const v of f.Values ?? []) {
          if (v.startsWith("!")) throw new Error("fake Secrets Manager: negated filters are not modelled");
          prefixes.push(v);
        }
      }
      const query = JSON.stringify([prefixes, !!input.IncludePlannedDeletion]);
      let offset = 0;
      if (input.NextToken !== undefined) {
        const t = tokens.get(input.NextToken);
        if (!t || t.query !== query) throw sdkError("InvalidNextTokenException", "The NextToken value is invalid.");
        offset = t.offset;
      }
      const matching = [...secrets.values()]
        .filter((e) => input.IncludePlannedDeletion || !e.deleted)
        .filter((e) => !prefixes.length || prefixes.some((p) => e.name.startsWith(p)));
      const size = Math.min(max, o.pageLimit ?? max);
      const page = matching.slice(offset, offset + size);
      let NextToken: string | undefined;
      if (offset + size < matching.length) {
        NextToken = randomBytes(12).toString("base64url");
        tokens.set(NextToken, { offset: offset + size, query });
      }
      return {
        SecretList: page.map((e) => ({
          ARN: e.arn,
          Name: e.name,
          ...(e.description !== undefined ? { Description: e.description } : {}),
          CreatedDate: e.created,
          LastChangedDate: e.changed,
          ...(e.deleted ? { DeletedDate: e.deleted } : {}),
        })),
        ...(NextToken ? { NextToken } : {}),
      };
    },
  });

  return {
    client,
    secretString: (name) => {
      const e = secrets.get(name);
      return e && e.versions.length ? current(e).secretString : undefined;
    },
    names: () => [...secrets.keys()],
    scheduleDeletion: (name) => {
      lookup(name).deleted = now();
    },
  };
}
