/**
 * Fill a builder job's secret references with their data, from the
 * SecretStore, just before the builder runs: locally in the runtime (the job
 * then travels on the builder's stdin only), on AWS inside the builder task
 * (so that no value rests in the table). A missing Secret, ConfigMap or key
 * fails with `MissingSecret`, naming it and the field that refers to it.
 */
import type { BuilderJob, SecretData } from "../builder/job.js";
import { CascadeError } from "../core/errors.js";
import { describeSecret, type SecretKind, type SecretStore } from "../ports/secret-store.js";

export class MissingSecretError extends CascadeError {
  constructor(message: string) {
    super("MissingSecret", message);
    this.name = "MissingSecretError";
  }
}

export async function resolveJobSecrets(job: BuilderJob, store: SecretStore): Promise<BuilderJob> {
  const namespace = job.namespace;
  const load = async (kind: SecretKind, name: string, field: string): Promise<Record<string, Buffer>> => {
    const found = await store.get({ kind, namespace, name });
    if (!found) {
      const hint = store.howToCreate?.({ kind, namespace, name });
      throw new MissingSecretError(`${describeSecret({ kind, namespace, name })} (${field}) not found${hint ? `; ${hint}` : ""}`);
    }
    return found.data;
  };
  const encode = (data: Record<string, Buffer>): SecretData => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString("base64")]));

  const out: BuilderJob = structuredClone(job);
  if (out.source.secret) out.source.secret.data = encode(await load("Secret", out.source.secret.name, "spec.source.sourceSecret"));
  const s = out.strategy;
  if (s.type === "Docker" || s.type === "Source") {
    const field = s.type === "Docker" ? "dockerStrategy" : "sourceStrategy";
    for (const v of s.volumes) v.data = encode(await load(v.kind, v.source, `spec.strategy.${field}.volumes[${v.name}]`));
  }
  if (s.type === "Docker") {
    for (const b of s.buildSecrets) {
      const field = `spec.strategy.dockerStrategy.buildSecrets[${b.id}]`;
      const data = await load("Secret", b.secret, field);
      const keys = Object.keys(data);
      const key = b.key ?? (keys.length === 1 ? keys[0] : undefined);
      if (key === undefined) throw new MissingSecretError(`${field}: secret "${namespace}/${b.secret}" has ${keys.length} keys (${keys.join(", ") || "none"}); name one with key`);
      const value = data[key];
      if (value === undefined) throw new MissingSecretError(`${field}: secret "${namespace}/${b.secret}" has no key "${key}" (it has ${keys.join(", ") || "none"})`);
      b.value = value.toString("base64");
    }
  }
  if (s.type === "Custom") {
    for (const [i, m] of s.secrets.entries()) m.data = encode(await load("Secret", m.secret, `spec.strategy.customStrategy.secrets[${i}]`));
    if (s.pushSecret) {
      const data = await load("Secret", s.pushSecret.name, "spec.output.pushSecret");
      if (!data[".dockerconfigjson"] && !data[".dockercfg"]) {
        throw new MissingSecretError(`spec.output.pushSecret: secret "${namespace}/${s.pushSecret.name}" has no .dockerconfigjson or .dockercfg key`);
      }
      s.pushSecret.data = encode(data);
    }
  }
  return out;
}
