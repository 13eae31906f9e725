/**
 * SecretStore port: the Secrets and ConfigMaps that BuildConfigs name
 * (webhook `secretReference`, `spec.source.sourceSecret`, build volumes,
 * `buildSecrets`, `customStrategy.secrets`, `output.pushSecret`), each in a
 * namespace, each a map from key to bytes. The local adapter keeps them
 * encrypted under CASCADE_HOME; on AWS they come from Secrets Manager.
 *
 * Reading a whole secret needs `get`; listing gives names and keys only, so
 * that no command that lists can leak a value.
 */
import { z } from "zod";
import { NamespaceName, ResourceName } from "../core/buildconfig.js";

export const SecretKind = z.enum(["Secret", "ConfigMap"]);
export type SecretKind = z.infer<typeof SecretKind>;

/** Kubernetes' rule for Secret and ConfigMap keys. */
export const SecretKey = z
  .string()
  .min(1)
  .max(253)
  .refine((k) => /^[-._a-zA-Z0-9]+$/.test(k) && k !== "." && k !== "..", {
    error: (iss) => `${JSON.stringify(iss.input)} is not a valid key: use letters, digits, '-', '_' and '.'`,
  });

export const SecretId = z.object({ kind: SecretKind, namespace: NamespaceName, name: ResourceName });
export type SecretId = z.infer<typeof SecretId>;

export interface StoredSecret extends SecretId {
  /** Kubernetes' secret type when given (`kubernetes.io/basic-auth`, `kubernetes.io/ssh-auth`...). */
  type?: string;
  data: Record<string, Buffer>;
  createdAt: string;
  updatedAt: string;
}

/** What listing shows: never a value. */
export interface SecretSummary extends SecretId {
  type?: string;
  keys: string[];
  createdAt: string;
  updatedAt: string;
}

export interface SecretStore {
  get(id: SecretId): Promise<StoredSecret | undefined>;
  list(filter?: { kind?: SecretKind; namespace?: string }): Promise<SecretSummary[]>;
  /** Create or replace; `created` is false when it replaced one. */
  put(secret: SecretId & { type?: string; data: Record<string, Buffer> }, now: string): Promise<{ created: boolean }>;
  /** Whether there was one to delete. */
  delete(id: SecretId): Promise<boolean>;
  /** How a user makes this secret where this store reads it: for the error that says it is missing. */
  howToCreate?(id: SecretId): string;
}

export const describeSecret = (id: SecretId): string => `${id.kind === "Secret" ? "secret" : "configmap"} "${id.namespace}/${id.name}"`;
