/**
 * The contract between Cascade and its ephemeral builder: the job it is given
 * (on stdin, locally; in the task's environment, on AWS) and the reports it
 * sends back (JSON lines on file descriptor 3). Secrets travel only here,
 * never on a command line or in a log.
 */
import { z } from "zod";
import { CacheStep } from "../core/build.js";
import { ImageCheck } from "../core/image-guidelines.js";
import { ScriptsUrlScheme } from "../core/s2i.js";

export const NameValue = z.object({ name: z.string(), value: z.string() });

/** Secret material as it travels in a job: each key's bytes in base64. Filled in just before the run (`resolveJobSecrets`). */
export const SecretData = z.record(z.string(), z.string());
export type SecretData = z.infer<typeof SecretData>;

/**
 * A Secret or ConfigMap mounted read-only into every `RUN` step of the build
 * (OpenShift's build volumes), at each of `destinationPaths`; never committed.
 */
export const JobVolume = z.object({
  name: z.string(),
  kind: z.enum(["Secret", "ConfigMap"]),
  /** The Secret's or ConfigMap's name, in the build's namespace. */
  source: z.string(),
  destinationPaths: z.array(z.string()).min(1),
  data: SecretData.optional(),
});
export type JobVolume = z.infer<typeof JobVolume>;

/** A secret for `RUN --mount=type=secret,id=ID`: one key of a Cascade Secret. */
export const JobBuildSecret = z.object({
  id: z.string(),
  secret: z.string(),
  /** Which key; absent when the secret has exactly one. */
  key: z.string().optional(),
  /** The value, base64. */
  value: z.string().optional(),
});
export type JobBuildSecret = z.infer<typeof JobBuildSecret>;

/** A Secret mounted into the Custom strategy's builder at `mountPath`. */
export const JobMountedSecret = z.object({ secret: z.string(), mountPath: z.string(), data: SecretData.optional() });
export type JobMountedSecret = z.infer<typeof JobMountedSecret>;

export const RegistryAuth = z.union([
  z.object({ username: z.string(), password: z.string() }),
  z.object({ token: z.string() }),
]);

export const BuilderJob = z.object({
  buildName: z.string(),
  namespace: z.string(),
  buildConfig: z.string(),
  source: z.object({
    uri: z.string(),
    /** Branch or tag to fetch when `commit` is absent; also recorded in labels. */
    ref: z.string().optional(),
    commit: z.string().optional(),
    contextDir: z.string().optional(),
    /** Inline Dockerfile (`spec.source.dockerfile`): replaces the file in contextDir. */
    dockerfile: z.string().optional(),
    /**
     * `spec.source.sourceSecret`: credentials for the clone. Keys, as in
     * Kubernetes' secret types: `username` and `password` (basic auth, or a
     * token as `password` alone), `ssh-privatekey` (with `known_hosts`
     * optional), and `ca.crt` for a private certificate authority.
     */
    secret: z.object({ name: z.string(), data: SecretData.optional() }).optional(),
  }),
  strategy: z.discriminatedUnion("type", [
    z.object({
      type: z.literal("Docker"),
      dockerfilePath: z.string().default("Dockerfile"),
      /** `dockerStrategy.from`, resolved to an image reference: replaces the last FROM. */
      from: z.string().optional(),
      buildArgs: z.array(NameValue).default([]),
      env: z.array(NameValue).default([]),
      noCache: z.boolean().default(false),
      volumes: z.array(JobVolume).default([]),
      /** Cascade's `dockerStrategy.buildSecrets`: what `RUN --mount=type=secret,id=...` reads. */
      buildSecrets: z.array(JobBuildSecret).default([]),
    }),
    z.object({
      type: z.literal("Source"),
      /** `sourceStrategy.from`, resolved to an image reference: the S2I builder image. */
      from: z.string(),
      /** `sourceStrategy.env` (plus a generic webhook's env): written as ENV, after `.s2i/environment`. */
      env: z.array(NameValue).default([]),
      /** `sourceStrategy.scripts`: where assemble, run and save-artifacts come from first. */
      scripts: z.string().optional(),
      incremental: z.boolean().default(false),
      /** The BuildConfig's last pushed image, by digest: incremental builds restore its saved artifacts. */
      previousImage: z.string().optional(),
      /** Scripts URL schemes this BuildConfig accepts (`image` always; others by its annotation). */
      allowedScriptsUrlSchemes: z.array(ScriptsUrlScheme).default(["image"]),
      noCache: z.boolean().default(false),
      volumes: z.array(JobVolume).default([]),
    }),
    z.object({
      type: z.literal("Custom"),
      /** `customStrategy.from`, resolved: the user's builder image, run rootless with the source mounted. */
      from: z.string(),
      /** `customStrategy.env`, after OpenShift's own variables. */
      env: z.array(NameValue).default([]),
      /** `customStrategy.secrets`. */
      secrets: z.array(JobMountedSecret).default([]),
      /**
       * `spec.output.pushSecret`: only then does the builder get registry
       * credentials (a `.dockerconfigjson`) and push by itself, as in
       * OpenShift. Without it, it writes an OCI layout and Cascade pushes it.
       */
      pushSecret: z.object({ name: z.string(), data: SecretData.optional() }).optional(),
      /** OpenShift's `BUILD` variable: the build object, as JSON. */
      buildJson: z.string(),
    }),
  ]),
  output: z.object({
    /** Image references to push (name:tag), the first being the primary. */
    images: z.array(z.string()).min(1),
    imageLabels: z.array(z.object({ name: z.string(), value: z.string().optional() })).default([]),
  }),
  /**
   * The shared layer cache: a repository in the output's registry, one per
   * namespace (`host/cascade-cache/<namespace>`), read and written with
   * `--cache-from`/`--cache-to`. Absent under `noCache`.
   */
  cache: z.object({ repository: z.string(), ttl: z.string().optional() }).optional(),
  /**
   * `spec.imagePolicy`: the image guidelines check runs after every build;
   * under `Enforce` the image is pushed by digest, checked, and no tag moves
   * when it fails.
   */
  imagePolicy: z.enum(["Warn", "Enforce"]).default("Warn"),
  /** Credentials per registry host (`host[:port]`). */
  registryAuth: z.record(z.string(), RegistryAuth).default({}),
  /** Registry hosts reached over plain http (loopback registries). */
  insecureRegistries: z.array(z.string()).default([]),
});
export type BuilderJob = z.infer<typeof BuilderJob>;
export type BuilderJobInput = z.input<typeof BuilderJob>;

export const BuilderReport = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("source"),
    commit: z.string(),
    author: z.string().optional(),
    date: z.string().optional(),
    message: z.string().optional(),
  }),
  z.object({ type: z.literal("bases"), bases: z.array(z.object({ name: z.string(), digest: z.string().optional() })) }),
  z.object({
    type: z.literal("pushed"),
    image: z.string(),
    digest: z.string(),
    tags: z.array(z.string()),
    /** Every output tag already held this digest: the build reproduced the image it replaces. */
    unchanged: z.boolean().optional(),
  }),
  z.object({ type: z.literal("cache"), repository: z.string(), steps: z.array(CacheStep) }),
  z.object({ type: z.literal("imageCheck"), check: ImageCheck }),
  z.object({ type: z.literal("failed"), reason: z.string(), message: z.string() }),
]);
export type BuilderReport = z.infer<typeof BuilderReport>;
