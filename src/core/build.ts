/**
 * The Build record: one run of a BuildConfig, with its phases, causes,
 * inputs, outputs and timestamps. Schemas are the single source of types.
 */
import { z } from "zod";
import { ImageCheck } from "./image-guidelines.js";

export const BuildPhase = z.enum(["New", "Pending", "Running", "Complete", "Failed", "Error", "Cancelled"]);
export type BuildPhase = z.infer<typeof BuildPhase>;

export const TERMINAL_PHASES: readonly BuildPhase[] = ["Complete", "Failed", "Error", "Cancelled"];
export const isTerminal = (p: BuildPhase): boolean => TERMINAL_PHASES.includes(p);

/** OpenShift's failure reasons, reused so that users recognise them. */
export const FailureReason = z.enum([
  "FetchSourceFailed",
  "InvalidDockerfile",
  "PullBuilderImageFailed",
  "DockerBuildFailed",
  "AssembleFailed",
  "PushImageToRegistryFailed",
  "PostCommitHookFailed",
  "OutOfMemoryKilled",
  "DeadlineExceeded",
  "BuilderError",
  "Cancelled",
  "GenericBuildFailed",
  "ImagePolicyViolation",
  "MissingSecret",
  "InvalidBuilderImage",
]);
export type FailureReason = z.infer<typeof FailureReason>;

export const BuildCause = z.object({
  type: z.enum(["GitHub", "GitLab", "Bitbucket", "Gitea", "Generic", "Manual", "ImageChange", "ConfigChange"]),
  message: z.string(),
  deliveryId: z.string().optional(),
  ref: z.string().optional(),
  commit: z.string().optional(),
  image: z.string().optional(),
  at: z.string(),
});
export type BuildCause = z.infer<typeof BuildCause>;

export const BaseImageInput = z.object({ name: z.string(), digest: z.string().optional() });
export type BaseImageInput = z.infer<typeof BaseImageInput>;

export const BuildInputs = z.object({
  source: z
    .object({
      uri: z.string(),
      /** Branch or tag name to fetch when no commit is pinned yet. */
      ref: z.string().optional(),
      commit: z.string().optional(),
      author: z.string().optional(),
      message: z.string().optional(),
      date: z.string().optional(),
    })
    .optional(),
  bases: z.array(BaseImageInput).default([]),
});
export type BuildInputs = z.infer<typeof BuildInputs>;

export const BuildOutputs = z.object({
  image: z.string(),
  digest: z.string(),
  tags: z.array(z.string()),
  /**
   * Every output tag already held this digest before the push: the build
   * reproduced the image it replaces, so no image update follows and the
   * downstream chain does not rebuild.
   */
  unchanged: z.boolean().optional(),
});

/** One step of a layered build, and whether its layer came from the shared cache. */
export const CacheStep = z.object({ step: z.string(), instruction: z.string(), cached: z.boolean() });
export type CacheStep = z.infer<typeof CacheStep>;

/** What the shared layer cache gave a build. */
export const BuildCache = z.object({ repository: z.string(), steps: z.array(CacheStep) });
export type BuildCache = z.infer<typeof BuildCache>;
export type BuildOutputs = z.infer<typeof BuildOutputs>;

export const Build = z.object({
  id: z.string(),
  namespace: z.string(),
  buildConfig: z.string(),
  number: z.number().int().positive(),
  phase: BuildPhase,
  reason: z.string().optional(),
  message: z.string().optional(),
  causes: z.array(BuildCause),
  inputs: BuildInputs,
  outputs: BuildOutputs.optional(),
  /** The layer cache repository this build read and wrote, and which steps came from it. */
  cache: BuildCache.optional(),
  /** The image guidelines check on the pushed image, under the BuildConfig's `imagePolicy`. */
  imageCheck: ImageCheck.optional(),
  /** Extra build environment from the event (a generic webhook's `env`, when its trigger has `allowEnv`). */
  env: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
  /** Image tags to push instead of the output's own tag (from a git tag and `spec.tagPolicy`). */
  outputTags: z.array(z.string()).optional(),
  /** Builds (`namespace/id`) of the same plan that must complete before this one starts. */
  dependsOn: z.array(z.string()).optional(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  completedAt: z.string().optional(),
  durationMs: z.number().optional(),
  logPath: z.string().optional(),
});
export type Build = z.infer<typeof Build>;

export const buildId = (buildConfig: string, n: number): string => `${buildConfig}-${n}`;
