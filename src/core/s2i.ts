/**
 * Source-to-Image as a Dockerfile: what OpenShift 4 does with a
 * `sourceStrategy` build (source-to-image's `pkg/build/strategies/dockerfile`,
 * the `--as-dockerfile` mode), reproduced as a pure function.
 *
 * - `readBuilderMetadata` reads the S2I labels, User, Env and ports from the
 *   builder image's config (`ImageConfig`, `src/ports/registry.ts`).
 * - `generateS2IDockerfile` turns that metadata, the strategy, the source
 *   listing and the provenance labels into a Dockerfile whose build context
 *   is the source tree.
 *
 * Where Cascade differs from source-to-image, and why:
 * - the builder's `io.openshift.s2i.destination` and
 *   `io.openshift.s2i.assemble-user` labels are honoured (S2I's dockerfile
 *   mode ignores both and always uses `/tmp` and uid 1001);
 * - the assemble user must be a numeric non-zero uid (OpenShift's rule);
 *   a builder that would assemble as root, or as a user name, is refused;
 * - labels are sorted by key, so the same inputs give the same bytes
 *   (S2I writes them in Go map order);
 * - files are owned through `COPY --chown`, so the builder needs no `chown`
 *   and no `USER root`;
 * - every interpolated value is escaped or validated: `$`, `"`, `\` and
 *   newlines cannot end a value, expand a variable or start an instruction;
 * - `RUN` and `CMD` of the scripts use the JSON form;
 * - no file I/O: the caller passes the source listing and the content of
 *   `.s2i/environment`.
 */
import { posix } from "node:path";
import { z } from "zod";
import { S2I_SCRIPTS_SCHEMES_ANNOTATION } from "./buildconfig.js";
import { ValidationError } from "./errors.js";
import { quoteWord } from "./dockerfile.js";
import { parseImageRef } from "./image-ref.js";
import type { ImageConfig } from "../ports/registry.js";

// ---------------------------------------------------------------------------
// Names S2I defines (pkg/api/constants)

export const S2I_LABELS = {
  scriptsUrl: "io.openshift.s2i.scripts-url",
  destination: "io.openshift.s2i.destination",
  assembleUser: "io.openshift.s2i.assemble-user",
  assembleInputFiles: "io.openshift.s2i.assemble-input-files",
  exposeServices: "io.openshift.expose-services",
  displayName: "io.k8s.display-name",
  buildImage: "io.openshift.build.image",
} as const;

/** Deprecated names S2I still reads when the current ones are absent. */
const DEPRECATED_SCRIPTS_URL_LABEL = "io.s2i.scripts-url";
const DEPRECATED_DESTINATION_LABEL = "io.s2i.destination";
const DEPRECATED_SCRIPTS_URL_ENV = "STI_SCRIPTS_URL";
const DEPRECATED_DESTINATION_ENV = "STI_LOCATION";

export const DEFAULT_DESTINATION = "/tmp";
export const DEFAULT_SCRIPTS_DIR = "/usr/libexec/s2i";
/** S2I keeps the incremental artifacts tar at `/tmp/artifacts.tar` whatever the destination. */
const ARTIFACTS_TAR = "/tmp/artifacts.tar";
const SOURCE_SCRIPTS_DIR = ".s2i/bin";
const SOURCE_ENVIRONMENT_FILE = ".s2i/environment";

const SCRIPT_NAMES = ["assemble", "run", "save-artifacts"] as const;
type ScriptName = (typeof SCRIPT_NAMES)[number];

export const ScriptsUrlScheme = z.enum(["image", "file", "http", "https"]);
export type ScriptsUrlScheme = z.infer<typeof ScriptsUrlScheme>;

/** Without `allowedScriptsUrlSchemes`: plain `http://` scripts are refused (code fetched without TLS runs in the build). */
export const DEFAULT_ALLOWED_SCRIPTS_URL_SCHEMES: readonly ScriptsUrlScheme[] = ["image", "file", "https"];

// ---------------------------------------------------------------------------
// Values that end up in the Dockerfile

/** An absolute path made only of characters that need no quoting in a shell or a Dockerfile. */
const SAFE_ABSOLUTE_PATH_RE = /^\/[A-Za-z0-9._@+\/-]*$/;
/** A relative path inside the build context, same alphabet. */
const SAFE_RELATIVE_PATH_RE = /^[A-Za-z0-9._@+-][A-Za-z0-9._@+\/-]*$/;
/** Characters refused in a scripts URL: they could end the word, quote or expand. */
const UNSAFE_URL_CHARS_RE = /[\s"'`$\\<>{}|^\u0000-\u001f\u007f]/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NUMERIC_RE = /^[0-9]+$/;
const MAX_UID = 4294967294;

const q = (s: string) => JSON.stringify(s);

/** Normalises an absolute in-image path, or returns `undefined` when it is not one Cascade can write safely. */
function safeAbsolutePath(raw: string): string | undefined {
  if (!raw.startsWith("/")) return undefined;
  const normal = posix.normalize(raw);
  const trimmed = normal.length > 1 ? normal.replace(/\/+$/, "") : normal;
  return SAFE_ABSOLUTE_PATH_RE.test(trimmed) ? trimmed : undefined;
}

export type ParsedScriptsUrl =
  | { scheme: "image"; url: string; dir: string }
  | { scheme: "file"; url: string; path: string }
  | { scheme: "http" | "https"; url: string; base: string };

/**
 * Parses an S2I scripts URL: `image:///usr/libexec/s2i` (a directory in the
 * builder image), `file://dir` (a directory of the source tree, relative to
 * the build context) or `http(s)://host/path` (fetched at build time).
 * Throws a ValidationError naming `what` and the value.
 */
export function parseScriptsUrl(raw: string, what: string): ParsedScriptsUrl {
  const url = raw.trim();
  const fail = (why: string): never => {
    throw new ValidationError(`${what} ${q(raw)} is not a valid S2I scripts URL: ${why}`);
  };
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s.exec(url);
  if (match === null) return fail("expected image://, file://, http:// or https://");
  const scheme = (match[1] as string).toLowerCase();
  const rest = match[2] as string;
  switch (scheme) {
    case "image": {
      const dir = safeAbsolutePath(rest.startsWith("/") ? rest : `/${rest}`);
      if (dir === undefined) return fail("the image path must be absolute and use only letters, digits and . _ @ + - /");
      return { scheme: "image", url, dir };
    }
    case "file": {
      if (rest === "") return fail("the path is empty");
      return { scheme: "file", url, path: rest };
    }
    case "http":
    case "https": {
      if (UNSAFE_URL_CHARS_RE.test(url)) return fail("it contains whitespace, quotes, $, \\ or control characters");
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch (cause) {
        throw new ValidationError(`${what} ${q(raw)} is not a valid S2I scripts URL: it does not parse as a URL`, { cause });
      }
      if (parsed.hostname === "") return fail("it names no host");
      if (parsed.search !== "" || parsed.hash !== "")
        return fail("a query or fragment cannot be used: S2I appends /assemble, /run and /save-artifacts to it");
      return { scheme, url, base: url.replace(/\/+$/, "") };
    }
    default:
      return fail(`scheme ${q(scheme)} is not supported; expected image://, file://, http:// or https://`);
  }
}

// ---------------------------------------------------------------------------
// Builder metadata

const nonEmpty = (s: string | undefined) => (s === undefined || s.trim() === "" ? undefined : s.trim());

export const BuilderMetadata = z
  .object({
    /** `io.openshift.s2i.scripts-url` (or the deprecated `io.s2i.scripts-url`, `STI_SCRIPTS_URL`). */
    scriptsUrl: z.string().min(1).optional(),
    /** `io.openshift.s2i.destination`: where scripts, source and artifacts land. */
    destination: z.string().default(DEFAULT_DESTINATION),
    /** `io.openshift.s2i.assemble-user`: the user that runs `assemble`, overriding `user`. */
    assembleUser: z.string().optional(),
    /** `io.openshift.s2i.assemble-input-files`, split on `;` (runtime-image builds; read, not used here). */
    assembleInputFiles: z.array(z.string()).default([]),
    /** `io.openshift.expose-services`, e.g. `8080:http`. */
    exposeServices: z.string().optional(),
    /** The image config's `User` (`""` when unset). */
    user: z.string().default(""),
    /** The image config's `Env`, in order. */
    env: z.array(z.object({ name: z.string(), value: z.string() })).default([]),
    /** Keys of the image config's `ExposedPorts`, sorted (`8080/tcp`). */
    exposedPorts: z.array(z.string()).default([]),
    /** The image config's `WorkingDir`, when set. */
    workingDir: z.string().optional(),
  })
  .superRefine((m, ctx) => {
    if (m.scriptsUrl !== undefined) {
      try {
        parseScriptsUrl(m.scriptsUrl, `label ${S2I_LABELS.scriptsUrl}`);
      } catch (e) {
        ctx.addIssue({ code: "custom", path: ["scriptsUrl"], message: (e as Error).message });
      }
    }
    if (safeAbsolutePath(m.destination) === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["destination"],
        message: `label ${S2I_LABELS.destination} ${q(m.destination)} must be an absolute path using only letters, digits and . _ @ + - /`,
      });
  });
export type BuilderMetadata = z.infer<typeof BuilderMetadata>;

function zodToValidation(what: string, error: z.ZodError): ValidationError {
  const detail = error.issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join(".")}: ${i.message}` : i.message))
    .join("; ");
  return new ValidationError(`${what}: ${detail}`, { cause: error });
}

/**
 * Reads what S2I needs from a builder image's configuration. Labels win over
 * the deprecated labels and environment variables S2I still honours.
 * Throws a ValidationError when a scripts URL or destination label cannot be
 * used safely.
 */
export function readBuilderMetadata(image: ImageConfig): BuilderMetadata {
  const config = image.config ?? {};
  const labels = config.Labels ?? {};
  const env = (config.Env ?? []).map((e) => {
    const i = e.indexOf("=");
    return i < 0 ? { name: e, value: "" } : { name: e.slice(0, i), value: e.slice(i + 1) };
  });
  const envValue = (name: string) => env.findLast((e) => e.name === name)?.value;
  const label = (name: string) => nonEmpty(labels[name]);

  const inputFiles = label(S2I_LABELS.assembleInputFiles);
  const candidate = {
    scriptsUrl: label(S2I_LABELS.scriptsUrl) ?? label(DEPRECATED_SCRIPTS_URL_LABEL) ?? nonEmpty(envValue(DEPRECATED_SCRIPTS_URL_ENV)),
    destination:
      label(S2I_LABELS.destination) ?? label(DEPRECATED_DESTINATION_LABEL) ?? nonEmpty(envValue(DEPRECATED_DESTINATION_ENV)),
    assembleUser: label(S2I_LABELS.assembleUser),
    assembleInputFiles:
      inputFiles === undefined
        ? []
        : inputFiles
            .split(";")
            .map((s) => s.trim())
            .filter((s) => s !== ""),
    exposeServices: label(S2I_LABELS.exposeServices),
    user: (config.User ?? "").trim(),
    env,
    exposedPorts: Object.keys(config.ExposedPorts ?? {}).sort(),
    workingDir: nonEmpty(config.WorkingDir),
  };
  const parsed = BuilderMetadata.safeParse(candidate);
  if (!parsed.success) throw zodToValidation("builder image S2I metadata", parsed.error);
  return parsed.data;
}

// ---------------------------------------------------------------------------
// Generator input

const EnvEntry = z.looseObject({ name: z.string(), value: z.string().optional() });

export const S2IDockerfileInput = z.object({
  /** The builder image reference, pinned by digest by the caller. */
  builderImage: z.string().min(1),
  metadata: BuilderMetadata,
  /** The BuildConfig's `sourceStrategy` (other fields, e.g. `from`, are accepted and ignored). */
  sourceStrategy: z.looseObject({
    env: z.array(EnvEntry).optional(),
    scripts: z.string().optional(),
    incremental: z.boolean().optional(),
  }),
  source: z.object({
    /** Every file of the source tree (the build context), relative, `/`-separated. */
    files: z.array(z.string()),
    /** The content of `.s2i/environment`, when the source has one. */
    environmentFile: z.string().optional(),
  }),
  /** Provenance labels already computed (`io.openshift.build.*`, `org.opencontainers.image.*`); they win over S2I's. */
  labels: z.array(z.tuple([z.string(), z.string()])),
  /** The last image this BuildConfig produced, for incremental builds. */
  previousImage: z.string().min(1).optional(),
  /** The output image reference; becomes `io.k8s.display-name` as S2I does with its tag. */
  outputImage: z.string().min(1).optional(),
  /** Schemes accepted for scripts URLs (strategy and label); default `DEFAULT_ALLOWED_SCRIPTS_URL_SCHEMES`. */
  allowedScriptsUrlSchemes: z.array(ScriptsUrlScheme).optional(),
});
export type S2IDockerfileInput = z.input<typeof S2IDockerfileInput>;

export interface S2IDockerfile {
  dockerfile: string;
  warnings: string[];
}

// ---------------------------------------------------------------------------
// Writing instructions (values are quoted by `quoteWord`, src/core/dockerfile.ts)

/** `KEYWORD a \` / `        b` with continuation lines aligned under the first item. */
function continued(keyword: string, items: string[]): string {
  const indent = " ".repeat(keyword.length + 1);
  return `${keyword} ${items.join(` \\\n${indent}`)}\n`;
}

// ---------------------------------------------------------------------------
// The assemble user

interface AssembleUser {
  /** The value of `USER`: `uid` or `uid:gid`. */
  user: string;
  /** The value of `--chown`: `uid:0`, as S2I chowns to group 0. */
  chown: string;
}

/**
 * OpenShift's rule: S2I assembles as a numeric, non-zero uid. The
 * `io.openshift.s2i.assemble-user` label wins over the image's `User`.
 */
function resolveAssembleUser(builderImage: string, meta: BuilderMetadata): AssembleUser {
  const fromLabel = nonEmpty(meta.assembleUser);
  const spec = fromLabel ?? meta.user.trim();
  const source = fromLabel !== undefined ? `its ${S2I_LABELS.assembleUser} label` : "its User";
  const hint = `S2I assembles as a numeric non-zero uid: set USER 1001 (or LABEL ${S2I_LABELS.assembleUser}="1001") in the builder image`;
  const refuse = (why: string): never => {
    throw new ValidationError(`builder image ${q(builderImage)} ${why}; ${hint}`);
  };
  if (spec === "") refuse(`sets no User and no ${S2I_LABELS.assembleUser} label, so it would assemble as root`);
  const [uid = "", gid, ...extra] = spec.split(":");
  if (uid === "root" || (NUMERIC_RE.test(uid) && Number(uid) === 0))
    refuse(`would assemble as root (${source} is ${q(spec)})`);
  if (extra.length > 0 || !NUMERIC_RE.test(uid) || (gid !== undefined && !NUMERIC_RE.test(gid)))
    refuse(`would assemble as user ${q(spec)} (${source}), which is not a numeric uid[:gid]`);
  if (Number(uid) > MAX_UID || (gid !== undefined && Number(gid) > MAX_UID))
    refuse(`would assemble as user ${q(spec)} (${source}), which is out of the uid range`);
  const u = String(Number(uid));
  return { user: gid === undefined ? u : `${u}:${Number(gid)}`, chown: `${u}:0` };
}

// ---------------------------------------------------------------------------
// Scripts

type ScriptOrigin = "strategy" | "source" | "label" | "default";

type ScriptLocation =
  /** Already in the image: run from its path. */
  | { kind: "image"; path: string; origin: ScriptOrigin }
  /** A file of the build context, copied to `<destination>/scripts/<name>`. */
  | { kind: "context"; from: string; origin: "strategy" | "source" }
  /** Fetched at build time by `ADD`, to `<destination>/scripts/<name>`. */
  | { kind: "remote"; url: string; origin: "strategy" | "label"; base: string };

const ORIGIN_TEXT: Record<ScriptOrigin, string> = {
  strategy: "sourceStrategy.scripts",
  source: `${SOURCE_SCRIPTS_DIR} in the source`,
  label: `the builder's ${S2I_LABELS.scriptsUrl} label`,
  default: `${DEFAULT_SCRIPTS_DIR}, the default (the builder has no ${S2I_LABELS.scriptsUrl} label)`,
};

interface ScriptPlan {
  locations: Partial<Record<ScriptName, ScriptLocation>>;
  /** The scripts URL written to the output image's label. */
  scriptsUrlLabel: string;
}

function checkScheme(url: ParsedScriptsUrl, what: string, allowed: readonly ScriptsUrlScheme[]): void {
  if (!allowed.includes(url.scheme))
    throw new ValidationError(
      `${what} ${q(url.url)} uses the ${url.scheme}:// scheme, which is not allowed here (allowed: ${allowed.map((s) => `${s}://`).join(", ")}; a BuildConfig allows more with its annotation ${S2I_SCRIPTS_SCHEMES_ANNOTATION})`,
    );
}

/** A `file://` scripts directory, as a path inside the build context. */
function contextDir(url: Extract<ParsedScriptsUrl, { scheme: "file" }>, what: string): string {
  const raw = url.path.replace(/^(\.\/)+/, "");
  const fail = (why: string): never => {
    throw new ValidationError(`${what} ${q(url.url)}: ${why}`);
  };
  if (raw.startsWith("/"))
    fail("a file:// scripts URL names a directory of the source, relative to its root (e.g. file://ci/s2i); an absolute path is outside the build context");
  const normal = posix.normalize(raw).replace(/\/+$/, "");
  if (normal === ".." || normal.startsWith("../")) fail("the path leaves the build context");
  if (!SAFE_RELATIVE_PATH_RE.test(normal)) fail("the path must use only letters, digits and . _ @ + - /");
  return normal;
}

/**
 * Where each of `names` comes from: `sourceStrategy.scripts`, then `.s2i/bin`
 * in the source, then the builder's label, then `/usr/libexec/s2i`, per
 * script, as S2I's installer does. Only the scripts the build runs are looked
 * up, so an unusable label matters only when a script falls through to it.
 */
function planScripts(
  input: { builderImage: string; strategyScripts: string | undefined; labelScripts: string | undefined },
  names: readonly ScriptName[],
  files: ReadonlySet<string>,
  allowed: readonly ScriptsUrlScheme[],
): ScriptPlan {
  const locations: Partial<Record<ScriptName, ScriptLocation>> = {};
  const strategyWhat = "sourceStrategy.scripts";
  const labelWhat = `builder label ${S2I_LABELS.scriptsUrl}`;
  const strategyUrl = input.strategyScripts === undefined ? undefined : parseScriptsUrl(input.strategyScripts, strategyWhat);
  const labelUrl = input.labelScripts === undefined ? undefined : parseScriptsUrl(input.labelScripts, labelWhat);
  if (strategyUrl) checkScheme(strategyUrl, strategyWhat, allowed);

  const strategyDir = strategyUrl?.scheme === "file" ? contextDir(strategyUrl, strategyWhat) : undefined;
  if (strategyDir !== undefined && !SCRIPT_NAMES.some((n) => files.has(`${strategyDir}/${n}`)))
    throw new ValidationError(
      `${strategyWhat} ${q(strategyUrl?.url ?? "")}: the source has none of ${strategyDir}/assemble, ${strategyDir}/run, ${strategyDir}/save-artifacts`,
    );

  let labelUsed = false;
  for (const name of names) {
    // 1. sourceStrategy.scripts
    if (strategyUrl !== undefined) {
      if (strategyUrl.scheme === "image") {
        locations[name] = { kind: "image", path: `${strategyUrl.dir}/${name}`, origin: "strategy" };
        continue;
      }
      if (strategyUrl.scheme === "file") {
        const from = `${strategyDir}/${name}`;
        if (files.has(from)) {
          locations[name] = { kind: "context", from, origin: "strategy" };
          continue;
        }
      } else {
        locations[name] = { kind: "remote", url: `${strategyUrl.base}/${name}`, origin: "strategy", base: strategyUrl.url };
        continue;
      }
    }
    // 2. .s2i/bin in the source
    const fromSource = `${SOURCE_SCRIPTS_DIR}/${name}`;
    if (files.has(fromSource)) {
      locations[name] = { kind: "context", from: fromSource, origin: "source" };
      continue;
    }
    // 3. the builder's label
    if (labelUrl !== undefined) {
      if (!labelUsed) checkScheme(labelUrl, labelWhat, allowed);
      labelUsed = true;
      if (labelUrl.scheme === "image") {
        locations[name] = { kind: "image", path: `${labelUrl.dir}/${name}`, origin: "label" };
        continue;
      }
      if (labelUrl.scheme === "http" || labelUrl.scheme === "https") {
        locations[name] = { kind: "remote", url: `${labelUrl.base}/${name}`, origin: "label", base: labelUrl.url };
        continue;
      }
      // file:// on a label names a path on the machine that runs S2I: nothing Cascade can reach.
      throw new ValidationError(
        `${labelWhat} ${q(labelUrl.url)} of builder image ${q(input.builderImage)}: a file:// scripts URL on a builder image names a path on the machine that runs S2I and cannot be used; set image:// instead`,
      );
    }
    // 4. the default directory
    locations[name] = { kind: "image", path: `${DEFAULT_SCRIPTS_DIR}/${name}`, origin: "default" };
  }

  const scriptsUrlLabel = strategyUrl?.url ?? labelUrl?.url ?? `image://${DEFAULT_SCRIPTS_DIR}`;
  return { locations, scriptsUrlLabel };
}

// ---------------------------------------------------------------------------
// Environment

/**
 * Parses `.s2i/environment`: `NAME=VALUE` lines, the value taken literally up
 * to the end of the line (trimmed, as S2I does). Comments and blank lines are
 * skipped; any other line is skipped with a warning.
 */
export function parseS2IEnvironment(content: string, warnings: string[]): [string, string][] {
  const out: [string, string][] = [];
  const lines = content.replace(/^\uFEFF/, "").split("\n");
  for (const [i, rawLine] of lines.entries()) {
    const line = rawLine.replace(/\r$/, "");
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const where = `${SOURCE_ENVIRONMENT_FILE} line ${i + 1}`;
    const eq = line.indexOf("=");
    if (eq < 0) {
      warnings.push(`${where}: expected NAME=VALUE, found ${q(trimmed)}; line skipped`);
      continue;
    }
    const name = line.slice(0, eq).trim();
    if (!ENV_NAME_RE.test(name)) {
      warnings.push(`${where}: ${q(name)} is not a valid environment variable name; line skipped`);
      continue;
    }
    out.push([name, line.slice(eq + 1).trim()]);
  }
  return out;
}

function mergeEnvironment(
  source: { files: ReadonlySet<string>; environmentFile: string | undefined },
  strategyEnv: { name: string; value?: string | undefined }[],
  warnings: string[],
): Map<string, string> {
  const env = new Map<string, string>();
  if (source.environmentFile !== undefined) {
    for (const [k, v] of parseS2IEnvironment(source.environmentFile, warnings)) env.set(k, v);
  } else if (source.files.has(SOURCE_ENVIRONMENT_FILE)) {
    warnings.push(`${SOURCE_ENVIRONMENT_FILE} is in the source but its content was not provided; it is ignored`);
  }
  for (const e of strategyEnv) {
    if (!ENV_NAME_RE.test(e.name))
      throw new ValidationError(
        `sourceStrategy.env: ${q(e.name)} is not a valid environment variable name (letters, digits and _, not starting with a digit)`,
      );
    env.set(e.name, e.value ?? "");
  }
  return env;
}

// ---------------------------------------------------------------------------
// The generator

function normaliseFile(f: string): string {
  return f.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

/**
 * Generates the Dockerfile of an S2I build. Pure: same input, same bytes.
 * Throws a ValidationError when the input is malformed, when the builder
 * would assemble as root (or as a non-numeric user), when a scripts URL is
 * unusable or its scheme not allowed, or when an env name is invalid.
 */
export function generateS2IDockerfile(rawInput: S2IDockerfileInput): S2IDockerfile {
  const parsed = S2IDockerfileInput.safeParse(rawInput);
  if (!parsed.success) throw zodToValidation("invalid S2I build input", parsed.error);
  const input = parsed.data;
  const warnings: string[] = [];

  const builderRef = parseImageRef(input.builderImage);
  if (builderRef.digest === undefined)
    warnings.push(`builder image ${q(input.builderImage)} is not pinned by digest; the build is not reproducible`);

  const meta = input.metadata;
  const destination = safeAbsolutePath(meta.destination) as string; // checked by the schema
  const scriptsDir = posix.join(destination, "scripts");
  const srcDir = posix.join(destination, "src");
  const artifactsDir = posix.join(destination, "artifacts");
  const user = resolveAssembleUser(input.builderImage, meta);
  const chown = `--chown=${user.chown}`;

  const files = new Set(input.source.files.map(normaliseFile));
  const allowed = input.allowedScriptsUrlSchemes ?? DEFAULT_ALLOWED_SCRIPTS_URL_SCHEMES;
  const strategyScripts = nonEmpty(input.sourceStrategy.scripts);

  let incremental = input.sourceStrategy.incremental === true;
  if (incremental && input.previousImage === undefined) {
    warnings.push("incremental build requested but there is no previous image yet: building without saved artifacts");
    incremental = false;
  }
  if (incremental) parseImageRef(input.previousImage as string);

  const used: ScriptName[] = incremental ? ["assemble", "run", "save-artifacts"] : ["assemble", "run"];
  const plan = planScripts(
    { builderImage: input.builderImage, strategyScripts, labelScripts: meta.scriptsUrl },
    used,
    files,
    allowed,
  );
  const loc = (name: ScriptName): ScriptLocation => plan.locations[name] as ScriptLocation;
  const at = (name: ScriptName) => {
    const l = loc(name);
    return l.kind === "image" ? l.path : `${scriptsDir}/${name}`;
  };
  if (used.some((n) => loc(n).origin === "default"))
    warnings.push(
      `builder image has no ${S2I_LABELS.scriptsUrl} label: scripts not found elsewhere are expected in ${DEFAULT_SCRIPTS_DIR}`,
    );
  const remote = new Map<string, ScriptName[]>();
  for (const n of used) {
    const l = loc(n);
    if (l.kind === "remote") remote.set(l.base, [...(remote.get(l.base) ?? []), n]);
  }
  for (const [base, names] of remote)
    warnings.push(
      `${names.join(", ")} will be fetched at build time from ${base}; a script missing there fails the build (S2I would fall back to the builder's)`,
    );

  // Environment: .s2i/environment, then the BuildConfig's env (which wins).
  const env = mergeEnvironment(
    { files, environmentFile: input.source.environmentFile },
    input.sourceStrategy.env ?? [],
    warnings,
  );

  // Labels: S2I's own, then the provenance labels (which win), sorted by key.
  const labels = new Map<string, string>();
  labels.set(S2I_LABELS.buildImage, input.builderImage);
  labels.set(S2I_LABELS.scriptsUrl, plan.scriptsUrlLabel);
  labels.set(S2I_LABELS.destination, destination);
  if (input.outputImage !== undefined) labels.set(S2I_LABELS.displayName, input.outputImage);
  for (const [k, v] of input.labels) {
    if (k.trim() === "") throw new ValidationError(`label name ${q(k)} is empty`);
    // The Dockerfile parser splits LABEL words at the first "=", quotes or not.
    if (k.includes("=")) throw new ValidationError(`label name ${q(k)} contains "=", which a Dockerfile LABEL cannot carry`);
    labels.set(k, v);
  }
  const sortedLabels = [...labels.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  const out: string[] = [];
  out.push("# Generated by Cascade from the S2I metadata of the builder image (source-to-image --as-dockerfile).\n");

  // Stage 1 (incremental): save the previous image's artifacts.
  if (incremental) {
    const save = loc("save-artifacts");
    out.push(`FROM ${input.previousImage} AS cached\n`);
    out.push(`# save-artifacts from ${ORIGIN_TEXT[save.origin]}\n`);
    if (save.kind === "context") out.push(`COPY ${chown} ${save.from} ${at("save-artifacts")}\n`);
    if (save.kind === "remote") out.push(`ADD ${chown} ${save.url} ${at("save-artifacts")}\n`);
    out.push(`USER ${user.user}\n`);
    if (save.kind !== "image") out.push(`RUN chmod 0755 ${at("save-artifacts")}\n`);
    const script = at("save-artifacts");
    out.push(`RUN if [ -s ${script} ]; then ${script} > ${ARTIFACTS_TAR}; else touch ${ARTIFACTS_TAR}; fi\n`);
    out.push("\n");
  }

  // Main stage.
  out.push(`FROM ${input.builderImage}\n`);
  if (env.size > 0)
    out.push(
      continued(
        "ENV",
        [...env.entries()].map(([k, v]) => {
          const value = quoteWord(v);
          if (value.altered)
            warnings.push(`environment variable ${k} has newlines or control characters; they are written as escapes`);
          return `${k}=${value.text}`;
        }),
      ),
    );


  // The main stage needs assemble and run; save-artifacts ran in the cached stage.
  const copied = (["assemble", "run"] as const).filter((n) => loc(n).kind !== "image");
  const fromSource = copied.filter((n) => loc(n).origin === "source");
  if (fromSource.length > 0) {
    out.push(`# Scripts from ${SOURCE_SCRIPTS_DIR} in the source: ${fromSource.join(", ")}\n`);
    out.push(`COPY ${chown} ${SOURCE_SCRIPTS_DIR}/ ${scriptsDir}\n`);
  }
  for (const name of copied) {
    const l = loc(name);
    if (l.kind === "context" && l.origin === "strategy") {
      out.push(`# ${name} from sourceStrategy.scripts\n`);
      out.push(`COPY ${chown} ${l.from} ${scriptsDir}/${name}\n`);
    } else if (l.kind === "remote") {
      out.push(`# ${name} from ${ORIGIN_TEXT[l.origin]}, fetched at build time\n`);
      out.push(`ADD ${chown} ${l.url} ${scriptsDir}/${name}\n`);
    }
  }

  out.push("# The source\n");
  out.push(`COPY ${chown} . ${srcDir}\n`);
  out.push(`USER ${user.user}\n`);
  if (copied.length > 0) out.push(`RUN chmod 0755 ${copied.map((n) => `${scriptsDir}/${n}`).join(" ")}\n`);

  for (const [name, keyword] of [
    ["assemble", "RUN"],
    ["run", "CMD"],
  ] as const) {
    const l = loc(name);
    out.push(`# ${name} from ${ORIGIN_TEXT[l.origin]}\n`);
    if (l.kind === "image") out.push("# If this file does not exist in the image, the build will fail.\n");
    if (incremental && name === "assemble") {
      // The saved artifacts are bind-mounted from the cached stage, so the tar is in no layer of the image,
      // and extracted in the same step as assemble: one layer, not three.
      out.push("# Extract the artifacts saved from the previous image, then assemble\n");
      out.push(`RUN --mount=type=bind,from=cached,source=${ARTIFACTS_TAR},target=${ARTIFACTS_TAR} \\\n`);
      out.push(`    if [ -s ${ARTIFACTS_TAR} ]; then mkdir -p ${artifactsDir} && tar -xf ${ARTIFACTS_TAR} -C ${artifactsDir}; fi && \\\n`);
      out.push(`    exec ${at(name)}\n`);
      continue;
    }
    out.push(`${keyword} ${JSON.stringify([at(name)])}\n`);
  }
  // Last, so that the steps above can come from the layer cache: the provenance labels change with every commit.
  out.push(
    continued(
      "LABEL",
      sortedLabels.map(([k, v]) => {
        const key = quoteWord(k);
        const value = quoteWord(v);
        if (key.altered) warnings.push(`label name ${q(k)} has control characters; they are written as escapes`);
        if (value.altered) warnings.push(`label ${q(k)} has newlines or control characters; they are written as escapes`);
        return `${key.text}=${value.text}`;
      }),
    ),
  );

  return { dockerfile: out.join(""), warnings };
}
