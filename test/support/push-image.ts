/**
 * Test helper: puts images into a Distribution registry with raw HTTP, so
 * tests get real manifests and blobs without buildah or skopeo.
 *
 * Hand-written on purpose: it speaks only the push half of the Distribution v2
 * API (monolithic POST + PUT blob upload, manifest PUT) with basic auth, which
 * is all the local registry needs, and the layers it makes are real gzipped
 * tars whose diff_ids match the config, so buildah can pull them too.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

export const MEDIA = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

export interface PushTarget {
  /** `http://127.0.0.1:PORT` */
  url: string;
  credentials?: { username: string; password: string };
}

export interface PushedBlob {
  digest: string;
  size: number;
}

export interface PushedManifest {
  digest: string;
  mediaType: string;
  size: number;
  /** The exact bytes PUT to the registry. */
  bytes: Buffer;
}

export interface PushedImage extends PushedManifest {
  config: Record<string, unknown>;
  configDigest: string;
  layers: PushedBlob[];
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** A deterministic gzipped ustar archive of regular files; returns both digests. */
export function makeLayer(files: Record<string, string>): { blob: Buffer; digest: string; diffId: string } {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.from(content);
    parts.push(tarHeader(name, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  const tar = Buffer.concat(parts);
  const blob = gzipSync(tar);
  return { blob, digest: sha256(blob), diffId: sha256(tar) };
}

function tarHeader(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`);
  const h = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => h.write(value, offset, length, "ascii");
  const octal = (offset: number, length: number, value: number) =>
    field(offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
  field(0, 100, name);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  field(148, 8, "        "); // checksum counts as spaces while summing
  field(156, 1, "0");
  field(257, 6, "ustar\0");
  field(263, 2, "00");
  let sum = 0;
  for (const byte of h) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

/** Uploads a blob with a monolithic POST-then-PUT upload; a no-op if the registry has it. */
export async function pushBlob(target: PushTarget, repository: string, bytes: Uint8Array): Promise<PushedBlob> {
  const digest = sha256(bytes);
  const head = await send(target, "HEAD", `/v2/${repository}/blobs/${digest}`);
  if (head.status === 200) return { digest, size: bytes.length };

  const start = await send(target, "POST", `/v2/${repository}/blobs/uploads/`);
  await expectStatus(start, 202, `start upload to ${repository}`);
  const location = start.headers.get("location");
  if (location === null) throw new Error(`registry gave no upload Location for ${repository}`);
  const uploadUrl = new URL(location, target.url);
  uploadUrl.searchParams.set("digest", digest);
  const put = await send(target, "PUT", uploadUrl.toString(), {
    body: bytes,
    headers: { "content-type": "application/octet-stream" },
  });
  await expectStatus(put, 201, `upload blob ${digest} to ${repository}`);
  return { digest, size: bytes.length };
}

/** PUTs manifest bytes under a tag or digest reference. */
export async function pushManifest(
  target: PushTarget,
  repository: string,
  reference: string,
  manifest: object,
): Promise<PushedManifest> {
  const mediaType = (manifest as { mediaType?: string }).mediaType;
  if (mediaType === undefined) throw new Error("the manifest must carry its mediaType");
  const bytes = Buffer.from(JSON.stringify(manifest, null, 2));
  const res = await send(target, "PUT", `/v2/${repository}/manifests/${reference}`, {
    body: bytes,
    headers: { "content-type": mediaType },
  });
  await expectStatus(res, 201, `put manifest ${repository}:${reference}`);
  const digest = sha256(bytes);
  const reported = res.headers.get("docker-content-digest");
  if (reported !== null && reported !== digest) {
    throw new Error(`registry reported digest ${reported} for manifest bytes hashing to ${digest}`);
  }
  return { digest, mediaType, size: bytes.length, bytes };
}

export interface PushImageOptions {
  repository: string;
  /** Tag to push; omit to push by digest only (e.g. index children). */
  tag?: string;
  format?: "docker" | "oci";
  os?: string;
  architecture?: string;
  variant?: string;
  /** Merged into the config's `config` section (Env, Labels, Cmd...). */
  containerConfig?: Record<string, unknown>;
  /** Files of the single layer. Default one file naming the image. */
  files?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Pushes a one-layer image (config, layer, manifest) and returns what was pushed. */
export async function pushImage(target: PushTarget, options: PushImageOptions): Promise<PushedImage> {
  const format = options.format ?? "oci";
  const os = options.os ?? "linux";
  const architecture = options.architecture ?? "amd64";
  const layer = makeLayer(options.files ?? { "etc/cascade-test": `${options.repository} ${os}/${architecture}\n` });
  const config: Record<string, unknown> = {
    created: "2026-01-01T00:00:00Z",
    architecture,
    os,
    ...(options.variant === undefined ? {} : { variant: options.variant }),
    config: { Env: ["PATH=/usr/local/bin:/usr/bin:/bin"], ...options.containerConfig },
    rootfs: { type: "layers", diff_ids: [layer.diffId] },
    history: [{ created: "2026-01-01T00:00:00Z", created_by: "test/support/push-image.ts" }],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configBlob = await pushBlob(target, options.repository, configBytes);
  const layerBlob = await pushBlob(target, options.repository, layer.blob);
  const manifest = {
    schemaVersion: 2,
    mediaType: format === "oci" ? MEDIA.ociManifest : MEDIA.dockerManifest,
    config: { mediaType: format === "oci" ? MEDIA.ociConfig : MEDIA.dockerConfig, ...configBlob },
    layers: [{ mediaType: format === "oci" ? MEDIA.ociLayer : MEDIA.dockerLayer, ...layerBlob }],
    ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
  };
  const reference = options.tag ?? sha256(JSON.stringify(manifest, null, 2));
  const pushed = await pushManifest(target, options.repository, reference, manifest);
  return { ...pushed, config, configDigest: configBlob.digest, layers: [layerBlob] };
}

export interface PushIndexOptions {
  repository: string;
  tag: string;
  format?: "docker" | "oci";
  /** One image per platform, pushed by digest first, then listed in the index. */
  platforms: Array<{ os: string; architecture: string; variant?: string; containerConfig?: Record<string, unknown> }>;
}

/** Pushes one image per platform, then an OCI index (or Docker manifest list) naming them. */
export async function pushIndex(
  target: PushTarget,
  options: PushIndexOptions,
): Promise<PushedManifest & { images: PushedImage[] }> {
  const format = options.format ?? "oci";
  const images: PushedImage[] = [];
  for (const platform of options.platforms) {
    images.push(await pushImage(target, { repository: options.repository, format, ...platform }));
  }
  const index = {
    schemaVersion: 2,
    mediaType: format === "oci" ? MEDIA.ociIndex : MEDIA.dockerManifestList,
    manifests: images.map((image, i) => {
      const p = options.platforms[i]!;
      return {
        mediaType: image.mediaType,
        digest: image.digest,
        size: image.size,
        platform: { os: p.os, architecture: p.architecture, ...(p.variant === undefined ? {} : { variant: p.variant }) },
      };
    }),
  };
  return { ...(await pushManifest(target, options.repository, options.tag, index)), images };
}

async function send(
  target: PushTarget,
  method: string,
  pathOrUrl: string,
  init: { body?: Uint8Array; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (target.credentials !== undefined) {
    const { username, password } = target.credentials;
    headers["authorization"] = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  }
  return fetch(new URL(pathOrUrl, target.url), {
    method,
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
    signal: AbortSignal.timeout(30_000),
  });
}

async function expectStatus(res: Response, status: number, what: string): Promise<void> {
  if (res.status === status) {
    await res.body?.cancel();
    return;
  }
  throw new Error(`${what}: expected HTTP ${status}, got ${res.status}: ${await res.text()}`);
}
