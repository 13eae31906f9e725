import { z } from "zod";

/**
 * The BuildConfig: OpenShift's `build.openshift.io/v1` shape, accepted as it
 * is, plus Cascade's own fields under `spec` (`paths`, `tagPolicy`, `rebase`,
 * `imagePolicy`).
 *
 * The zod schemas here are the single source of the types. Objects are loose:
 * fields that Cascade does not know are kept in the parsed value, and
 * `unsupportedFields` walks an input against the *schema's own shape* to name
 * every one of them, so nothing is dropped silently. A field that Cascade
 * accepts but does not act on (`nodeSelector`, an env `valueFrom`...) is
 * marked in the schema with `note(...)`, and the same walk reports it.
 *
 * Pure: no I/O, no clock. Parsing files lives in `buildconfig-load.ts`.
 */

// ---------------------------------------------------------------------------
// Field notes: how the walker learns, from the schema itself, which accepted
// fields or values Cascade ignores.

type FieldNote =
  /** The field is accepted but Cascade does not act on it; the reason is shown. */
  | { unsupported: string }
  /** Some values of this (string) field are accepted but not acted on. Keys compare case-insensitively. */
  | { unsupportedValues: Readonly<Record<string, string>> };

const fieldNotes = z.registry<FieldNote>();

function note<T extends z.core.$ZodType>(schema: T, fieldNote: FieldNote): T {
  fieldNotes.add(schema as z.core.$ZodType, fieldNote);
  return schema;
}

// ---------------------------------------------------------------------------
// Small building blocks.

/** RFC 1123 subdomain, as Kubernetes checks object names (at most 253 characters). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** RFC 1123 label, as Kubernetes checks namespaces (at most 63 characters). */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const ResourceName = z
  .string()
  .min(1)
  .refine((s) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s), {
    error: (iss) =>
      `${JSON.stringify(iss.input)} is not a valid name: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
  });

export const NamespaceName = z
  .string()
  .min(1)
  .refine((s) => s.length <= 63 && DNS1123_LABEL.test(s), {
    error: (iss) =>
      `${JSON.stringify(iss.input)} is not a valid namespace: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
  });

/** Kubernetes `LocalObjectReference`: a secret or config map in the BuildConfig's namespace. */
export const LocalObjectReference = z.looseObject({ name: z.string().min(1) });
export type LocalObjectReference = z.infer<typeof LocalObjectReference>;

export const ImageReferenceKind = z.enum(["DockerImage", "ImageStreamTag", "ImageStreamImage"]);
export type ImageReferenceKind = z.infer<typeof ImageReferenceKind>;

/**
 * An image reference (Kubernetes `ObjectReference` restricted to images).
 * `DockerImage` names a registry image as it is; `ImageStreamTag`
 * (`stream:tag`) and `ImageStreamImage` (`stream@sha256:...`) resolve through
 * Cascade's image-stream map, in `namespace` or else the BuildConfig's.
 */
export const ObjectReference = z.looseObject({
  kind: ImageReferenceKind,
  name: z.string().min(1),
  namespace: NamespaceName.optional(),
});
export type ObjectReference = z.infer<typeof ObjectReference>;

/** Where a build pushes: a registry image, or an image stream tag. */
export const OutputReference = z.looseObject({
  kind: z.enum(["DockerImage", "ImageStreamTag"]),
  name: z.string().min(1),
  namespace: NamespaceName.optional(),
});
export type OutputReference = z.infer<typeof OutputReference>;

/**
 * An environment variable or build argument. Only `value` is used: a
 * `valueFrom` (field, config map or secret key reference) is accepted, kept,
 * and reported as unsupported, as OpenShift itself does for `buildArgs`.
 */
export const EnvVar = z.looseObject({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: note(z.unknown().optional(), {
    unsupported: "only literal values are supported; the variable is not set",
  }),
});
export type EnvVar = z.infer<typeof EnvVar>;

/** A `{name, value}` pair (output image labels). */
export const NameValue = z.looseObject({ name: z.string().min(1), value: z.string() });
export type NameValue = z.infer<typeof NameValue>;

/** A Secret or ConfigMap mounted into the build at `mounts[].destinationPath` (not into the image). */
export const BuildVolume = z
  .looseObject({
    name: ResourceName,
    source: z.looseObject({
      type: z.enum(["Secret", "ConfigMap"]),
      secret: z.looseObject({ secretName: z.string().min(1) }).optional(),
      configMap: z.looseObject({ name: z.string().min(1) }).optional(),
    }),
    mounts: z
      .array(
        z.looseObject({
          destinationPath: z
            .string()
            .min(1)
            .refine((p) => p.startsWith("/") && p !== "/" && !p.split("/").includes("..") && !/[:,\s]/.test(p), {
              error: (iss) => `${JSON.stringify(iss.input)} must be an absolute path other than "/", without "..", ":", "," or spaces`,
            }),
        }),
      )
      .min(1),
  })
  .superRefine((v, ctx) => {
    const { type, secret, configMap } = v.source;
    if (type === "Secret" && secret === undefined)
      ctx.addIssue({ code: "custom", path: ["source", "secret"], message: "required when source.type is Secret" });
    if (type === "ConfigMap" && configMap === undefined)
      ctx.addIssue({ code: "custom", path: ["source", "configMap"], message: "required when source.type is ConfigMap" });
    if (type === "Secret" && configMap !== undefined)
      ctx.addIssue({ code: "custom", path: ["source", "configMap"], message: "not allowed when source.type is Secret" });
    if (type === "ConfigMap" && secret !== undefined)
      ctx.addIssue({ code: "custom", path: ["source", "secret"], message: "not allowed when source.type is ConfigMap" });
  });
export type BuildVolume = z.infer<typeof BuildVolume>;

// ---------------------------------------------------------------------------
// spec.source

const SOURCE_TYPES = ["Git", "Dockerfile", "Binary", "Image", "None"] as const;

/** Source types compare case-insensitively: OpenShift's own tests use `type: binary`. */
export const SourceType = note(
  z.preprocess(
    (v) => (typeof v === "string" ? (SOURCE_TYPES.find((t) => t.toLowerCase() === v.toLowerCase()) ?? v) : v),
    z.enum(SOURCE_TYPES),
  ),
  {
    unsupportedValues: {
      Binary: "Cascade takes no binary uploads (oc start-build --from-dir); builds get only the inline dockerfile, if any",
      Image: "Cascade copies no files out of images; builds get only the git source and inline dockerfile",
    },
  },
);
export type SourceType = z.infer<typeof SourceType>;

export const BuildSource = z
  .looseObject({
    /** Optional: OpenShift infers it from `git` and `dockerfile`. */
    type: SourceType.optional(),
    git: z.looseObject({ uri: z.string().min(1), ref: z.string().optional() }).optional(),
    /** Subdirectory of the repository that is the build context. */
    contextDir: z.string().optional(),
    /** Inline Dockerfile; replaces the file in `contextDir`. */
    dockerfile: z.string().optional(),
    /** Credentials for cloning `git.uri`. */
    sourceSecret: LocalObjectReference.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.type === "Git" && s.git === undefined)
      ctx.addIssue({ code: "custom", path: ["git"], message: "required when type is Git" });
    if (s.type === "Dockerfile" && s.dockerfile === undefined)
      ctx.addIssue({ code: "custom", path: ["dockerfile"], message: "required when type is Dockerfile" });
  });
export type BuildSource = z.infer<typeof BuildSource>;

// ---------------------------------------------------------------------------
// spec.strategy

export const DockerStrategy = z.looseObject({
  /** Replaces the image of the Dockerfile's last `FROM`. */
  from: ObjectReference.optional(),
  /** Relative to `source.contextDir`; `Dockerfile` when absent. */
  dockerfilePath: z.string().min(1).optional(),
  buildArgs: z.array(EnvVar).optional(),
  env: z.array(EnvVar).optional(),
  noCache: z.boolean().optional(),
  pullSecret: LocalObjectReference.optional(),
  volumes: z.array(BuildVolume).optional(),
  /**
   * Cascade: the secrets that `RUN --mount=type=secret,id=ID` may read, each
   * one key of a Secret in the BuildConfig's namespace (`key` may be left out
   * when the Secret has only one). A Dockerfile sees no other secret.
   */
  buildSecrets: z
    .array(
      z.looseObject({
        id: z
          .string()
          .min(1)
          .refine((v) => /^[A-Za-z0-9][-A-Za-z0-9._]*$/.test(v), { error: (iss) => `${JSON.stringify(iss.input)} is not a valid secret id: use letters, digits, '-', '_' and '.'` }),
        secret: LocalObjectReference,
        key: z.string().min(1).optional(),
      }),
    )
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((b, i) => {
        if (seen.has(b.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate secret id ${JSON.stringify(b.id)}` });
        seen.add(b.id);
      });
    })
    .optional(),
});
export type DockerStrategy = z.infer<typeof DockerStrategy>;

export const SourceStrategy = z.looseObject({
  /** The S2I builder image. */
  from: ObjectReference,
  env: z.array(EnvVar).optional(),
  incremental: z.boolean().optional(),
  /** URL of the S2I scripts, overriding the builder's. */
  scripts: z.string().min(1).optional(),
  pullSecret: LocalObjectReference.optional(),
  volumes: z.array(BuildVolume).optional(),
});
export type SourceStrategy = z.infer<typeof SourceStrategy>;

export const CustomStrategy = z.looseObject({
  /** The builder image, run with the source mounted. */
  from: ObjectReference,
  env: z.array(EnvVar).optional(),
  /** Always refused: a builder never gets a container engine socket. */
  exposeDockerSocket: z
    .boolean()
    .refine((v) => v !== true, { message: "exposeDockerSocket is always refused" })
    .optional(),
  pullSecret: LocalObjectReference.optional(),
  /** Secrets mounted into the builder. */
  secrets: z
    .array(z.looseObject({ secretSource: LocalObjectReference, mountPath: z.string().min(1) }))
    .optional(),
});
export type CustomStrategy = z.infer<typeof CustomStrategy>;

export const StrategyType = z.enum(["Docker", "Source", "Custom"], {
  error: (iss) =>
    iss.input === undefined
      ? undefined
      : `strategy type ${JSON.stringify(iss.input)} is not supported; use Docker, Source or Custom`,
});
export type StrategyType = z.infer<typeof StrategyType>;

const STRATEGY_FIELD = {
  Docker: "dockerStrategy",
  Source: "sourceStrategy",
  Custom: "customStrategy",
} as const satisfies Record<StrategyType, string>;

/**
 * `type` may be omitted (OpenShift infers it from the one strategy given);
 * the parsed value always carries it.
 */
export const BuildStrategy = z
  .looseObject({
    type: StrategyType.optional(),
    dockerStrategy: DockerStrategy.optional(),
    sourceStrategy: SourceStrategy.optional(),
    customStrategy: CustomStrategy.optional(),
  })
  .superRefine((s, ctx) => {
    const given = (Object.keys(STRATEGY_FIELD) as StrategyType[]).filter((t) => s[STRATEGY_FIELD[t]] !== undefined);
    if (s.type !== undefined) {
      for (const t of given)
        if (t !== s.type)
          ctx.addIssue({ code: "custom", path: [STRATEGY_FIELD[t]], message: `not allowed when type is ${s.type}` });
      // A Docker build needs no options; Source and Custom need their builder image.
      if (s.type !== "Docker" && !given.includes(s.type))
        ctx.addIssue({ code: "custom", path: [STRATEGY_FIELD[s.type]], message: `required when type is ${s.type}` });
    } else if (given.length === 0) {
      ctx.addIssue({ code: "custom", path: [], message: "one of dockerStrategy, sourceStrategy or customStrategy is required" });
    } else if (given.length > 1) {
      ctx.addIssue({ code: "custom", path: [], message: "only one of dockerStrategy, sourceStrategy or customStrategy may be set" });
    }
  })
  .transform((s) => {
    const type: StrategyType =
      s.type ?? (s.sourceStrategy ? "Source" : s.customStrategy ? "Custom" : "Docker");
    return { ...s, type };
  });
export type BuildStrategy = z.infer<typeof BuildStrategy>;

// ---------------------------------------------------------------------------
// spec.output

export const BuildOutput = z.looseObject({
  /** Absent: the image is built but not pushed. */
  to: OutputReference.optional(),
  /** Override every label Cascade would set. */
  imageLabels: z.array(NameValue).optional(),
  pushSecret: LocalObjectReference.optional(),
});
export type BuildOutput = z.infer<typeof BuildOutput>;

// ---------------------------------------------------------------------------
// spec.triggers

export const WebHookTrigger = z.looseObject({
  /** Inline secret: the last path segment of the OpenShift-style hook URL. */
  secret: z.string().optional(),
  /** A Secret holding the webhook secret under the key `WebHookSecretKey`. */
  secretReference: LocalObjectReference.optional(),
  /** Generic hooks only: let the payload's `env` reach the build. */
  allowEnv: z.boolean().optional(),
});
export type WebHookTrigger = z.infer<typeof WebHookTrigger>;

export const ImageChangeTrigger = z.looseObject({
  /** The image to follow; absent means the strategy's `from`. */
  from: ObjectReference.optional(),
  paused: z.boolean().optional(),
  /** The digest reference that last started a build (recorded, never compared by tag). */
  lastTriggeredImageID: z.string().optional(),
});
export type ImageChangeTrigger = z.infer<typeof ImageChangeTrigger>;

export const TriggerType = z.enum(["GitHub", "GitLab", "Bitbucket", "Generic", "ImageChange", "ConfigChange"]);
export type TriggerType = z.infer<typeof TriggerType>;

/** The legacy `v1` spellings OpenShift still converts (`github`, `generic`, `imageChange`). */
const DEPRECATED_TRIGGER_TYPES: Readonly<Record<string, TriggerType>> = {
  github: "GitHub",
  generic: "Generic",
  imageChange: "ImageChange",
};

export const WebhookProvider = z.enum(["github", "gitlab", "bitbucket", "generic"]);
export type WebhookProvider = z.infer<typeof WebhookProvider>;

const TRIGGER_FIELD = {
  GitHub: "github",
  GitLab: "gitlab",
  Bitbucket: "bitbucket",
  Generic: "generic",
  ImageChange: "imageChange",
} as const satisfies Partial<Record<TriggerType, string>>;

export const BuildTrigger = z
  .looseObject({
    type: z.preprocess(
      (v) => (typeof v === "string" ? (DEPRECATED_TRIGGER_TYPES[v] ?? v) : v),
      TriggerType,
    ),
    github: WebHookTrigger.optional(),
    gitlab: WebHookTrigger.optional(),
    bitbucket: WebHookTrigger.optional(),
    generic: WebHookTrigger.optional(),
    imageChange: ImageChangeTrigger.optional(),
  })
  .superRefine((t, ctx) => {
    for (const [type, field] of Object.entries(TRIGGER_FIELD))
      if (type !== t.type && t[field] !== undefined)
        ctx.addIssue({ code: "custom", path: [field], message: `only allowed when type is ${type}` });
    if (t.type === "ImageChange" || t.type === "ConfigChange") return;
    const field = TRIGGER_FIELD[t.type];
    const hook = t[field];
    if (hook === undefined) {
      ctx.addIssue({ code: "custom", path: [field], message: `required when type is ${t.type}` });
    } else if (!hook.secret && hook.secretReference === undefined) {
      ctx.addIssue({ code: "custom", path: [field], message: "a webhook trigger needs secret or secretReference.name" });
    }
  })
  // OpenShift defaults an empty ImageChange trigger to `imageChange: {}`.
  .transform((t) => (t.type === "ImageChange" && t.imageChange === undefined ? { ...t, imageChange: {} } : t));
export type BuildTrigger = z.infer<typeof BuildTrigger>;

// ---------------------------------------------------------------------------
// Cascade's additions

/**
 * How a git tag becomes image tags. Without a `tagPolicy`, tag pushes start
 * no build of this BuildConfig; with one, a tag push builds the tagged commit
 * and pushes to `output.to`'s repository:
 * - `semver` (default `true`): `v1.2.3` or `1.2.3` is pushed as `1.2.3`,
 *   `1.2` and `1`; a pre-release (`v1.2.3-rc.1`) only as `1.2.3-rc.1`; a tag
 *   that is not semver is pushed under its own name. With `false`, every tag
 *   is pushed under its own name only.
 * - `latest` (default `false`): a release (not pre-release) tag also moves `latest`.
 */
export const TagPolicy = z.looseObject({
  semver: z.boolean().default(true),
  latest: z.boolean().default(false),
});
export type TagPolicy = z.infer<typeof TagPolicy>;

export const ImagePolicy = z.enum(["Warn", "Enforce"]);
export type ImagePolicy = z.infer<typeof ImagePolicy>;

export const RunPolicy = z.enum(["Serial", "Parallel", "SerialLatestOnly"]);
export type RunPolicy = z.infer<typeof RunPolicy>;

const ResourceQuantities = z.record(z.string(), z.union([z.string(), z.number()]));

// ---------------------------------------------------------------------------
// The BuildConfig

export const BuildConfigSpec = z.looseObject({
  source: BuildSource.optional(),
  strategy: BuildStrategy,
  output: BuildOutput.optional(),
  triggers: z.array(BuildTrigger).default([]),
  runPolicy: RunPolicy.default("Serial"),
  /** Seconds a build may run; OpenShift's default is one week. */
  completionDeadlineSeconds: z.number().int().positive().optional(),
  resources: z
    .looseObject({ limits: ResourceQuantities.optional(), requests: ResourceQuantities.optional() })
    .optional(),
  /** Runs in the built image before it is pushed; `script` runs under `/bin/sh -ic`. */
  postCommit: z
    .looseObject({
      script: z.string().optional(),
      command: z.array(z.string()).optional(),
      args: z.array(z.string()).optional(),
    })
    .refine((h) => !(h.script && h.command && h.command.length > 0), {
      message: "script and command cannot both be set",
    })
    .optional(),
  successfulBuildsHistoryLimit: z.number().int().nonnegative().default(5),
  failedBuildsHistoryLimit: z.number().int().nonnegative().default(5),
  nodeSelector: note(z.record(z.string(), z.string()).optional(), {
    unsupported: "builds do not run on cluster nodes",
  }),

  /** Cascade: globs, relative to `source.contextDir`; a push rebuilds only when it changes a matching file. */
  paths: z
    .array(
      z
        .string()
        .min(1)
        .refine((p) => !p.startsWith("/"), { message: "must be relative to source.contextDir" }),
    )
    .optional(),
  /** Cascade: see `TagPolicy`. */
  tagPolicy: TagPolicy.optional(),
  /** Cascade: allow the no-rebuild base swap when only the base image changed. */
  rebase: z.boolean().default(false),
  /** Cascade: `Warn` reports image-guideline violations, `Enforce` fails the build on them. */
  imagePolicy: ImagePolicy.default("Warn"),
});
export type BuildConfigSpec = z.infer<typeof BuildConfigSpec>;

/** Read-only fields the API server sets; accepted and ignored without a warning. */
const serverSet = z.unknown().optional();

/**
 * The annotation by which a BuildConfig lets S2I scripts come from more than
 * the builder image: a comma-separated list of `file`, `https` and `http`
 * (`image` is always allowed). Without it, `sourceStrategy.scripts` and the
 * builder's scripts-url label may only name `image://` directories.
 */
export const S2I_SCRIPTS_SCHEMES_ANNOTATION = "cascade/s2i-scripts-url-schemes";

const SCRIPTS_SCHEMES = ["image", "file", "https", "http"] as const;
export type AllowedScriptsScheme = (typeof SCRIPTS_SCHEMES)[number];

function parseSchemes(value: string): { schemes: AllowedScriptsScheme[]; bad: string[] } {
  const words = value.split(",").map((w) => w.trim().toLowerCase()).filter((w) => w !== "");
  const bad = words.filter((w) => !(SCRIPTS_SCHEMES as readonly string[]).includes(w));
  const schemes = SCRIPTS_SCHEMES.filter((s) => s === "image" || words.includes(s));
  return { schemes, bad };
}

/** The scripts URL schemes a BuildConfig accepts for its S2I scripts. */
export function allowedScriptsUrlSchemes(config: { metadata: { annotations?: Record<string, string> | undefined } }): AllowedScriptsScheme[] {
  const value = config.metadata.annotations?.[S2I_SCRIPTS_SCHEMES_ANNOTATION];
  return value === undefined ? ["image"] : parseSchemes(value).schemes;
}

export const BuildConfigMetadata = z.looseObject({
  name: ResourceName,
  namespace: NamespaceName.default("default"),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z
    .record(z.string(), z.string())
    .superRefine((a, ctx) => {
      const v = a[S2I_SCRIPTS_SCHEMES_ANNOTATION];
      if (v === undefined) return;
      const { bad } = parseSchemes(v);
      if (bad.length > 0)
        ctx.addIssue({
          code: "custom",
          path: [S2I_SCRIPTS_SCHEMES_ANNOTATION],
          message: `${bad.map((b) => JSON.stringify(b)).join(", ")} is not a scripts URL scheme; expected a comma-separated list of image, file, https, http`,
        });
    })
    .optional(),
  creationTimestamp: serverSet,
  uid: serverSet,
  resourceVersion: serverSet,
  generation: serverSet,
  selfLink: serverSet,
  managedFields: serverSet,
});
export type BuildConfigMetadata = z.infer<typeof BuildConfigMetadata>;

export const BuildConfig = z
  .looseObject({
    apiVersion: z.enum(["build.openshift.io/v1", "v1"]),
    kind: z.literal("BuildConfig"),
    metadata: BuildConfigMetadata,
    spec: BuildConfigSpec,
    /** Server-side state (`lastVersion`...): accepted and dropped; Cascade keeps its own. */
    status: z.unknown().optional(),
  })
  .transform(({ status: _status, ...bc }) => bc);
export type BuildConfig = z.infer<typeof BuildConfig>;

// ---------------------------------------------------------------------------
// Parsing and the unsupported-field walk

/** One finding about one field; `path` is dotted with `[i]` indexes, e.g. `spec.triggers[0].github`. */
export type FieldIssue = { path: string; message: string };

export type BuildConfigCheck =
  | { ok: true; config: BuildConfig; warnings: FieldIssue[] }
  | { ok: false; errors: FieldIssue[]; warnings: FieldIssue[] };

/**
 * Validates one BuildConfig object (already parsed from YAML or JSON).
 * Returns every schema error, not only the first, and every warning about
 * fields Cascade ignores. `null` values count as absent, as they do for
 * Kubernetes (`creationTimestamp: null`, `nodeSelector: null`).
 */
export function checkBuildConfig(input: unknown): BuildConfigCheck {
  const value = withoutNulls(input);
  const warnings = unsupportedFields(value);
  const result = BuildConfig.safeParse(value, { error: issueMessage });
  if (result.success) return { ok: true, config: result.data, warnings };
  const errors = result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  return { ok: false, errors, warnings };
}

/**
 * Every field of `input` that the BuildConfig schema does not know, and every
 * known field (or value) that the schema marks as ignored. The walk follows
 * the schema's own shape, so adding a field to a schema makes it supported.
 */
export function unsupportedFields(input: unknown): FieldIssue[] {
  const out: FieldIssue[] = [];
  walk(BuildConfig, withoutNulls(input), [], out);
  return out;
}

type PathSegment = string | number;

function walk(schema: z.core.$ZodType, value: unknown, path: PathSegment[], out: FieldIssue[]): void {
  if (value === undefined) return;
  for (let s: z.core.$ZodType | undefined = schema; s !== undefined; s = inner(s)) {
    const fieldNote = fieldNotes.get(s);
    if (fieldNote && "unsupported" in fieldNote) {
      out.push({ path: formatPath(path), message: `unsupported field ${formatPath(path)} is ignored (${fieldNote.unsupported})` });
      return;
    }
    if (fieldNote && "unsupportedValues" in fieldNote && typeof value === "string") {
      const hit = Object.entries(fieldNote.unsupportedValues).find(([v]) => v.toLowerCase() === value.toLowerCase());
      if (hit) out.push({ path: formatPath(path), message: `${formatPath(path)} ${hit[0]} is not supported: ${hit[1]}` });
    }
    const def = s._zod.def;
    if (def.type === "object") {
      if (!isPlainObject(value)) return;
      const shape = (def as z.core.$ZodObjectDef).shape;
      for (const [key, child] of Object.entries(value)) {
        const field = Object.hasOwn(shape, key) ? shape[key] : undefined;
        const at = formatPath([...path, key]);
        if (field === undefined) out.push({ path: at, message: `unsupported field ${at} is ignored` });
        else walk(field, child, [...path, key], out);
      }
      return;
    }
    if (def.type === "array") {
      if (!Array.isArray(value)) return;
      const element = (def as z.core.$ZodArrayDef).element;
      value.forEach((item, i) => walk(element, item, [...path, i], out));
      return;
    }
  }
}

/** The schema a wrapper (optional, default, pipe...) wraps; `undefined` for anything else (a leaf). */
function inner(s: z.core.$ZodType): z.core.$ZodType | undefined {
  const def = s._zod.def;
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "nonoptional":
    case "catch":
      return (def as unknown as { innerType: z.core.$ZodType }).innerType;
    case "pipe": {
      // `.transform()` makes pipe(schema, transform); `z.preprocess` makes pipe(transform, schema).
      const { in: input, out } = def as z.core.$ZodPipeDef;
      return input._zod.def.type === "transform" ? out : input;
    }
    default:
      return undefined;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = withoutNulls(x);
    return out;
  }
  return v;
}

/** `spec.triggers[0].github`; keys that are not identifiers are quoted: `metadata.labels["app.kubernetes.io/name"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (typeof seg === "string" && /^[A-Za-z_$][\w$-]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** Short, precise messages: `expected string, received number`, `required`. */
function issueMessage(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case "invalid_type":
      if (iss.input === undefined) return "required";
      if (iss.expected === "int") return `expected an integer, received ${JSON.stringify(iss.input)}`;
      return `expected ${iss.expected}, received ${describeValue(iss.input)}`;
    case "invalid_value": {
      const values = iss.values.map((v) => JSON.stringify(v));
      const expected = values.length <= 2 ? values.join(" or ") : `one of ${values.join(", ")}`;
      return `expected ${expected}, received ${JSON.stringify(iss.input)}`;
    }
    case "too_small":
      if (iss.origin === "string" && Number(iss.minimum) === 1) return "must not be empty";
      if (iss.origin === "array") return `must have at least ${iss.minimum} item${Number(iss.minimum) === 1 ? "" : "s"}`;
      if (iss.origin === "number" || iss.origin === "int")
        return `must be ${iss.inclusive ? "at least" : "greater than"} ${iss.minimum}, received ${JSON.stringify(iss.input)}`;
      return undefined;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------
// Convenience helpers

/** `namespace/name`, the BuildConfig's identity. */
export function bcKey(bc: BuildConfig): string {
  return `${bc.metadata.namespace}/${bc.metadata.name}`;
}

export function strategyKind(bc: BuildConfig): StrategyType {
  return bc.spec.strategy.type;
}

/** The strategy's base or builder image (`from`), if it names one. */
export function strategyFrom(bc: BuildConfig): ObjectReference | undefined {
  const s = bc.spec.strategy;
  switch (s.type) {
    case "Docker":
      return s.dockerStrategy?.from;
    case "Source":
      return s.sourceStrategy?.from;
    case "Custom":
      return s.customStrategy?.from;
  }
}

/** Maps an image stream reference (namespace already filled in) to a registry image reference. */
export type ImageStreamResolver = (ref: {
  kind: "ImageStreamTag" | "ImageStreamImage";
  namespace: string;
  name: string;
}) => string | undefined;

/**
 * The image a build pushes. A `DockerImage` name is returned as it is. An
 * `ImageStreamTag` goes through `resolve`; without one it becomes
 * `<namespace>/<stream>:<tag>`, a repository path relative to Cascade's
 * own registry. `undefined` when the BuildConfig pushes nothing.
 */
export function outputImage(bc: BuildConfig, resolve?: ImageStreamResolver): string | undefined {
  const to = bc.spec.output?.to;
  if (to === undefined) return undefined;
  if (to.kind === "DockerImage") return to.name;
  const namespace = to.namespace ?? bc.metadata.namespace;
  return resolve ? resolve({ kind: to.kind, namespace, name: to.name }) : `${namespace}/${to.name}`;
}

const PROVIDER_TRIGGER = {
  github: "GitHub",
  gitlab: "GitLab",
  bitbucket: "Bitbucket",
  generic: "Generic",
} as const satisfies Record<WebhookProvider, TriggerType>;

/**
 * The webhook settings (`secret`, `secretReference`, `allowEnv`) of every
 * trigger for `provider`, in order: a BuildConfig may have several triggers
 * of one type, and a hook is accepted when it matches any of them.
 */
export function gitTriggerSecrets(bc: BuildConfig, provider: WebhookProvider): WebHookTrigger[] {
  const out: WebHookTrigger[] = [];
  for (const t of bc.spec.triggers) {
    const hook = t[provider];
    if (t.type === PROVIDER_TRIGGER[provider] && hook !== undefined) out.push(hook);
  }
  return out;
}
