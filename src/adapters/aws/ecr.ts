/**
 * Amazon ECR: registry credentials from `GetAuthorizationToken`, and digest
 * lookups through the ECR API (`DescribeImages`, `BatchGetImage`), which need
 * IAM permissions but no registry token and count against no pull limit.
 *
 * ECR hosts are `<account>.dkr.ecr[-fips].<region>.<url suffix>`; the suffix
 * (the partition's domain) comes from the deployment (`AWS::URLSuffix`), so
 * this module names no host. `EcrRegistry` serves the `Registry` port for
 * references on ECR hosts and hands every other reference (and image
 * configs, which only the registry API serves) to a fallback registry client.
 *
 * Errors: `ImageNotFoundException`, `RepositoryNotFoundException` and
 * `failures` become a permanent `RegistryError` with status 404, throttling
 * and service faults a temporary one, as the Distribution client does, so the
 * base poller backs off the same way whichever registry it asks.
 */
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  GetAuthorizationTokenCommand,
  type ECRClient,
  type ImageIdentifier,
} from "@aws-sdk/client-ecr";
import { RegistryError } from "../../core/errors.js";
import { parseImageRef, type ImageRef } from "../../core/image-ref.js";
import type { ImageConfig, Manifest, Platform, Registry } from "../../ports/registry.js";
import { isTemporaryAwsError } from "./sdk-errors.js";

const ECR_HOST = /^(\d{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.(.+)$/;

/** The account and region of an ECR registry host, or undefined for any other host. */
export function parseEcrHost(host: string): { account: string; region: string; fips: boolean; suffix: string } | undefined {
  const m = ECR_HOST.exec(host.toLowerCase());
  return m ? { account: m[1]!, region: m[3]!, fips: m[2] !== undefined, suffix: m[4]! } : undefined;
}

/** The registry host of an account's private ECR registry in a region. */
export function ecrHost(account: string, region: string, urlSuffix: string): string {
  return `${account}.dkr.ecr.${region}.${urlSuffix}`;
}

const ACCEPTED_MEDIA_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];

const EARLY_REFRESH_MS = 5 * 60_000;

export interface EcrAuthOptions {
  client: Pick<ECRClient, "send">;
  now?: () => number;
}

/**
 * Credentials for the caller's ECR registry (the `AWS` user and a 12-hour
 * token), keyed by registry host as the token's `proxyEndpoint` names it.
 * Cached until five minutes before the token expires.
 */
export class EcrAuth {
  private cached: { creds: Record<string, { username: string; password: string }>; expiresAt: number } | undefined;
  private readonly now: () => number;

  constructor(private readonly o: EcrAuthOptions) {
    this.now = o.now ?? Date.now;
  }

  async credentials(): Promise<Record<string, { username: string; password: string }>> {
    if (this.cached && this.cached.expiresAt - EARLY_REFRESH_MS > this.now()) return this.cached.creds;
    let res;
    try {
      res = await this.o.client.send(new GetAuthorizationTokenCommand({}));
    } catch (e) {
      throw registryError(e, "ECR GetAuthorizationToken");
    }
    const creds: Record<string, { username: string; password: string }> = {};
    let expiresAt = Infinity;
    for (const d of res.authorizationData ?? []) {
      if (!d.authorizationToken || !d.proxyEndpoint) continue;
      const decoded = Buffer.from(d.authorizationToken, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon <= 0) throw new RegistryError("ECR GetAuthorizationToken: the token is not user:password in base64");
      const host = d.proxyEndpoint.replace(/^https?:\/\//, "").replace(/\/+$/, "").toLowerCase();
      creds[host] = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      if (d.expiresAt) expiresAt = Math.min(expiresAt, new Date(d.expiresAt).getTime());
    }
    if (Object.keys(creds).length === 0) throw new RegistryError("ECR GetAuthorizationToken: no authorization data in the response");
    this.cached = { creds, expiresAt: Number.isFinite(expiresAt) ? expiresAt : this.now() + 60 * 60_000 };
    return creds;
  }
}

function registryError(e: unknown, what: string): RegistryError {
  if (e instanceof RegistryError) return e;
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = err?.name ?? "Error";
  const notFound = name === "ImageNotFoundException" || name === "RepositoryNotFoundException";
  const status = notFound ? 404 : err?.$metadata?.httpStatusCode;
  return new RegistryError(`${what}: ${name}: ${err?.message ?? String(e)}`, {
    ...(status !== undefined ? { status } : {}),
    temporary: !notFound && isTemporaryAwsError(e),
    cause: e,
  });
}

export interface EcrRegistryOptions {
  client: Pick<ECRClient, "send">;
  /** Serves references on other hosts, and image configs. */
  fallback: Registry;
}

export class EcrRegistry implements Registry {
  constructor(private readonly o: EcrRegistryOptions) {}

  private target(ref: string): { parsed: ImageRef; registryId: string; imageId: ImageIdentifier } | undefined {
    const parsed = parseImageRef(ref);
    const host = parseEcrHost(parsed.registry);
    if (!host) return undefined;
    const imageId: ImageIdentifier = parsed.digest ? { imageDigest: parsed.digest } : { imageTag: parsed.tag ?? "latest" };
    return { parsed, registryId: host.account, imageId };
  }

  async resolveDigest(ref: string): Promise<{ digest: string; mediaType: string }> {
    const t = this.target(ref);
    if (!t) return this.o.fallback.resolveDigest(ref);
    const what = `ECR DescribeImages for "${ref}"`;
    let res;
    try {
      res = await this.o.client.send(
        new DescribeImagesCommand({ registryId: t.registryId, repositoryName: t.parsed.repository, imageIds: [t.imageId] }),
      );
    } catch (e) {
      throw registryError(e, what);
    }
    const d = res.imageDetails?.[0];
    if (!d?.imageDigest) throw new RegistryError(`${what}: no such image`, { status: 404 });
    return { digest: d.imageDigest, mediaType: d.imageManifestMediaType ?? "application/vnd.oci.image.manifest.v1+json" };
  }

  async manifestExists(ref: string): Promise<boolean> {
    if (!this.target(ref)) return this.o.fallback.manifestExists(ref);
    try {
      await this.resolveDigest(ref);
      return true;
    } catch (e) {
      if (e instanceof RegistryError && e.status === 404) return false;
      throw e;
    }
  }

  async getManifest(ref: string): Promise<Manifest> {
    const t = this.target(ref);
    if (!t) return this.o.fallback.getManifest(ref);
    const what = `ECR BatchGetImage for "${ref}"`;
    let res;
    try {
      res = await this.o.client.send(
        new BatchGetImageCommand({
          registryId: t.registryId,
          repositoryName: t.parsed.repository,
          imageIds: [t.imageId],
          acceptedMediaTypes: ACCEPTED_MEDIA_TYPES,
        }),
      );
    } catch (e) {
      throw registryError(e, what);
    }
    const image = res.images?.[0];
    if (!image?.imageManifest || !image.imageId?.imageDigest) {
      const f = res.failures?.[0];
      const notFound = !f || f.failureCode === "ImageNotFound" || f.failureCode === "ImageTagDoesNotMatchDigest";
      throw new RegistryError(`${what}: ${f ? `${f.failureCode}: ${f.failureReason}` : "no such image"}`, {
        ...(notFound ? { status: 404 } : {}),
      });
    }
    return manifestFrom(image.imageManifest, image.imageId.imageDigest, image.imageManifestMediaType, what);
  }

  getImageConfig(ref: string, platform?: Platform): Promise<ImageConfig> {
    return this.o.fallback.getImageConfig(ref, platform);
  }
}

function manifestFrom(raw: string, digest: string, mediaType: string | undefined, what: string): Manifest {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new RegistryError(`${what}: the manifest is not JSON`);
  }
  const type = mediaType ?? (typeof m.mediaType === "string" ? m.mediaType : "application/vnd.oci.image.manifest.v1+json");
  const annotations = (m.annotations as Record<string, string> | undefined) ?? {};
  if (Array.isArray(m.manifests)) {
    return { kind: "index", digest, mediaType: type, annotations, raw, manifests: m.manifests as never };
  }
  if (m.config && Array.isArray(m.layers)) {
    return { kind: "image", digest, mediaType: type, annotations, raw, config: m.config as never, layers: m.layers as never };
  }
  throw new RegistryError(`${what}: unsupported manifest (media type ${type})`);
}
