/**
 * Registry port: the narrow, read-only view of an image registry that the
 * planner, triggers and rebase checks need. Adapters: the Distribution v2 /
 * OCI distribution client (`src/adapters/registry/distribution-client.ts`),
 * and in tests any in-memory fake that implements the same four methods.
 *
 * Every method takes an image reference as a user types it (`node:20`,
 * `127.0.0.1:5000/team/app@sha256:...`) and fails with a `RegistryError`
 * (`src/core/errors.ts`) whose `temporary` flag says whether a retry may help.
 */

/** Credentials for one registry host: a basic login, or a bearer token used as it is. */
export type RegistryCredentials = { username: string; password: string } | { token: string };

/**
 * Looks credentials up per registry host, as the host appears in the image
 * reference (`127.0.0.1:5000`, `docker.io`). `undefined` means anonymous.
 */
export type CredentialsLookup = (host: string) => RegistryCredentials | undefined;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A content descriptor, as in OCI image-spec `descriptor.md`. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

interface ManifestCommon {
  /** The digest of the manifest bytes (what `repo@digest` pins). */
  digest: string;
  mediaType: string;
  annotations: Record<string, string>;
  /** The exact manifest bytes the registry served, as UTF-8 text. */
  raw: string;
}

/** An OCI image manifest or a Docker v2 schema 2 manifest. */
export interface ImageManifest extends ManifestCommon {
  kind: "image";
  config: Descriptor;
  layers: Descriptor[];
}

/** An OCI image index or a Docker manifest list. */
export interface ImageIndex extends ManifestCommon {
  kind: "index";
  manifests: Descriptor[];
}

export type Manifest = ImageManifest | ImageIndex;

/**
 * The image configuration blob (OCI image-spec `config.md`). Only the fields
 * Cascade reads are typed; everything else the registry served is kept.
 */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    ExposedPorts?: Record<string, object> | null;
    [key: string]: unknown;
  };
  rootfs?: { type: string; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; empty_layer?: boolean; [key: string]: unknown }>;
  [key: string]: unknown;
}

export interface Registry {
  /**
   * The digest and media type a reference points at now. Uses HEAD on the
   * manifest, falling back to GET (hashing the bytes) when the registry
   * omits `Docker-Content-Digest`. For an index this is the index's digest.
   */
  resolveDigest(ref: string): Promise<{ digest: string; mediaType: string }>;

  /** The manifest (image or index) a reference points at. */
  getManifest(ref: string): Promise<Manifest>;

  /**
   * The parsed image configuration. When the reference names an index, picks
   * the manifest for `platform` (default linux/amd64).
   */
  getImageConfig(ref: string, platform?: Platform): Promise<ImageConfig>;

  /** Whether the manifest exists; `false` only on 404, other failures throw. */
  manifestExists(ref: string): Promise<boolean>;
}

/**
 * What pruning a cache repository needs beyond reading: its tags, and
 * deleting a manifest by digest. Only the local Distribution registry is
 * pruned this way (ECR uses a lifecycle policy).
 */
export interface RegistryAdmin extends Registry {
  listTags(ref: string): Promise<string[]>;
  deleteManifest(refByDigest: string): Promise<void>;
}

/**
 * What pushing by digest needs: blob uploads and manifest puts. A manifest
 * put under a digest reference moves no tag; under a tag it moves that tag.
 */
export interface RegistryWriter extends Registry {
  blobExists(ref: string, digest: string): Promise<boolean>;
  putBlob(ref: string, digest: string, data: Uint8Array): Promise<"uploaded" | "exists">;
  putManifest(ref: string, raw: Uint8Array, mediaType: string): Promise<string>;
}
