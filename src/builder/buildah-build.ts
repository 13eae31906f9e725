/**
 * What every strategy shares inside the builder once it has a Dockerfile:
 * `buildah bud` with rootless chroot isolation in this build's own vfs
 * storage, then a push by digest to every output tag.
 *
 * - Shared layer cache: `--layers` with `--cache-from`/`--cache-to` the
 *   namespace's cache repository, so fresh storage still reuses the layers of
 *   earlier builds; the steps that came from it are reported.
 * - Parallel stages: `--jobs` the builder's CPUs.
 * - Reproducible digests: `--timestamp` the commit's time (SOURCE_DATE_EPOCH),
 *   so the same commit on the same pinned bases gives the same digest; a push
 *   of the digest the tags already hold is reported as unchanged.
 */
import { availableParallelism } from "node:os";
import { readFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import type { CacheStep } from "../core/build.js";
import type { ImageCheck } from "../core/image-guidelines.js";
import { normalizeImageRef, parseImageRef } from "../core/image-ref.js";
import type { RegistryWriter } from "../ports/registry.js";
import { exec, StepFailed, errorLine, type LogSink } from "./exec.js";
import { checkPublished, publishLayout, repoOf } from "./publish.js";

export interface BuildahEnv {
  /** Global flags placing storage in this build's own folder. */
  storageFlags: string[];
  env: NodeJS.ProcessEnv;
  authFile: string;
}

export interface BuiltImage {
  bases: { name: string; digest?: string }[];
  digest: string;
  image: string;
  tags: string[];
  unchanged: boolean;
  check?: ImageCheck;
}

/** Keep a path inside the checkout: `..` escapes are refused. */
export function inside(root: string, rel: string, field: string, reason = "InvalidDockerfile"): string {
  const p = resolve(root, rel);
  if (p !== root && !p.startsWith(root + sep)) {
    throw new StepFailed(reason, `${field} "${rel}" points outside the source tree`);
  }
  return p;
}

/**
 * A strategy's builder image (S2I or Custom), pinned to the digest it has
 * now and reported as the build's base. `what` names it in the log and in
 * the `PullBuilderImageFailed` message ("builder image", "custom builder image").
 */
export async function pinBuilderImage(
  from: string,
  resolveDigest: (ref: string) => Promise<string>,
  what: string,
  log: LogSink,
  onBases: (bases: { name: string; digest?: string }[]) => void,
): Promise<{ name: string; digest: string; pinned: string }> {
  const name = normalizeImageRef(from);
  const ref = parseImageRef(name);
  let digest = ref.digest;
  try {
    digest ??= await resolveDigest(name);
  } catch (e) {
    throw new StepFailed("PullBuilderImageFailed", `cannot resolve ${what} ${name}: ${(e as Error).message}`);
  }
  onBases([{ name, digest }]);
  log(`--> ${what[0]!.toUpperCase()}${what.slice(1)} ${name} pinned to ${digest}`);
  return { name, digest, pinned: `${ref.registry}/${ref.repository}@${digest}` };
}

export interface BudRequest {
  buildName: string;
  /** The Dockerfile to build (outside the context, in the work folder). */
  dockerfile: string;
  contextDir: string;
  /** Output references (name:tag), the first being the primary. */
  images: string[];
  env: [string, string][];
  buildArgs: { name: string; value: string }[];
  noCache: boolean;
  /** The failure reason when `bud` fails: `DockerBuildFailed`, or `AssembleFailed` for S2I. */
  failReason: string;
  what: string;
  /** SOURCE_DATE_EPOCH: the image's created time and its files' timestamps. */
  epoch?: number;
  /** The namespace's layer cache repository; absent under `noCache`. */
  cache?: { repository: string; ttl?: string };
  /** The digest a reference points at now, or undefined when it does not exist. */
  currentDigest?: (ref: string) => Promise<string | undefined>;
  onCache?: (c: { repository: string; steps: CacheStep[] }) => void;
  /** More `bud` flags: build volumes (`--volume`) and build secrets (`--secret`). */
  extraFlags?: string[];
  /** The registry client for the image guidelines check and, under `Enforce`, the push by digest. */
  registry?: RegistryWriter;
  imagePolicy?: "Warn" | "Enforce";
  onImageCheck?: (check: ImageCheck) => void;
  /** Under `Enforce`, when the check fails: the image is in the registry by digest only. */
  onPushedByDigest?: (p: { image: string; digest: string }) => void;
}

const STEP_RE = /^(?:\[(\d+\/\d+)\] )?STEP (\d+\/\d+): (.*)$/;
const CACHED_RE = /^(?:\[(\d+\/\d+)\] )?--> (?:Using cache|Cache pulled from remote)\b/;

/**
 * Follows buildah's output and records, per step, whether its layer came from
 * the cache (`--> Using cache` locally, `--> Cache pulled from remote` from
 * the cache repository). FROM steps make no layer and are left out.
 */
export class CacheStepParser {
  readonly steps: CacheStep[] = [];
  private readonly current = new Map<string, CacheStep>();

  line(text: string): void {
    const step = STEP_RE.exec(text);
    if (step) {
      const stage = step[1] ?? "";
      const instruction = step[3]!.trim();
      if (/^FROM\b/i.test(instruction)) {
        this.current.delete(stage);
        return;
      }
      const s: CacheStep = { step: stage ? `${stage} ${step[2]}` : step[2]!, instruction, cached: false };
      this.steps.push(s);
      this.current.set(stage, s);
      return;
    }
    const cached = CACHED_RE.exec(text);
    if (cached) {
      const s = this.current.get(cached[1] ?? "");
      if (s) s.cached = true;
    }
  }
}

/** What the builder's runner adds to every strategy's request: the cache and the registry lookups. */
export type BudExtras = Pick<BudRequest, "cache" | "currentDigest" | "onCache" | "extraFlags" | "registry" | "imagePolicy" | "onImageCheck" | "onPushedByDigest">;

export async function budAndPush(
  req: BudRequest,
  workDir: string,
  buildah: BuildahEnv,
  log: LogSink,
): Promise<{ digest: string; image: string; tags: string[]; unchanged: boolean; check?: ImageCheck }> {
  const image = req.images[0]!;
  const localTag = `localhost/cascade/${req.buildName}:build`;
  const cacheFlags = req.noCache
    ? ["--no-cache"]
    : req.cache
      ? [
          "--layers",
          "--cache-from",
          req.cache.repository,
          "--cache-to",
          req.cache.repository,
          ...(req.cache.ttl ? ["--cache-ttl", req.cache.ttl] : []),
        ]
      : [];
  const bud = [
    ...buildah.storageFlags,
    "bud",
    "--isolation",
    "chroot",
    "--authfile",
    buildah.authFile,
    "--pull",
    "-f",
    req.dockerfile,
    "-t",
    localTag,
    ...cacheFlags,
    "--jobs",
    String(availableParallelism()),
    ...(req.epoch !== undefined && Number.isFinite(req.epoch) && req.epoch > 0 ? ["--timestamp", String(req.epoch)] : []),
    ...req.buildArgs.flatMap((a) => ["--build-arg", `${a.name}=${a.value}`]),
    ...req.env.flatMap(([k, v]) => ["--env", `${k}=${v}`]),
    ...(req.extraFlags ?? []),
    req.contextDir,
  ];
  log(`--> Building ${image} ${req.what} with buildah (rootless, chroot isolation, fresh vfs storage)`);
  if (req.cache && !req.noCache) log(`--> Layer cache: ${req.cache.repository}`);
  const steps = new CacheStepParser();
  const built = await exec("buildah", bud, {
    cwd: workDir,
    env: buildah.env,
    log: (line) => {
      steps.line(line);
      log(line);
    },
  });
  if (built.code !== 0) throw new StepFailed(req.failReason, `buildah bud failed: ${errorLine(built.tail)}`);
  if (req.cache && !req.noCache) {
    const hits = steps.steps.filter((s) => s.cached);
    log(`--> Layer cache: ${hits.length} of ${steps.steps.length} steps from the cache`);
    for (const h of hits) log(`-->   from the cache: STEP ${h.step}: ${h.instruction}`);
    req.onCache?.({ repository: req.cache.repository, steps: steps.steps });
  }

  if (req.imagePolicy === "Enforce" && req.registry) {
    // Push by digest first, check, and only then move the tags.
    const layout = join(workDir, "layout");
    const written = await exec("buildah", [...buildah.storageFlags, "push", localTag, `oci:${layout}:image`], { cwd: workDir, env: buildah.env, log, quiet: true });
    if (written.code !== 0) throw new StepFailed("PushImageToRegistryFailed", `buildah push to an OCI layout failed: ${errorLine(written.tail)}`);
    const p = await publishLayout(layout, req.images, {
      registry: req.registry,
      policy: "Enforce",
      log,
      ...(req.onImageCheck ? { onCheck: req.onImageCheck } : {}),
      ...(req.onPushedByDigest ? { onPushedByDigest: req.onPushedByDigest } : {}),
    });
    log(`--> Pushed ${image}@${p.digest}`);
    return p;
  }

  // What the tags hold before the push: the same digest afterwards means the image is unchanged.
  const before = new Map<string, string | undefined>();
  for (const target of req.images) before.set(target, await req.currentDigest?.(target).catch(() => undefined));

  let digest = "";
  const tags: string[] = [];
  for (const target of req.images) {
    const digestFile = join(workDir, "digest");
    log(`--> Pushing ${target}`);
    const pushed = await exec(
      "buildah",
      [...buildah.storageFlags, "push", "--authfile", buildah.authFile, "--digestfile", digestFile, localTag, `docker://${target}`],
      { cwd: workDir, env: buildah.env, log },
    );
    if (pushed.code !== 0) {
      throw new StepFailed("PushImageToRegistryFailed", `buildah push to ${target} failed: ${errorLine(pushed.tail)}`);
    }
    digest = (await readFile(digestFile, "utf8")).trim();
    const tag = parseImageRef(target).tag;
    if (tag) tags.push(tag);
  }
  log(`--> Pushed ${image}@${digest}`);
  const unchanged = req.currentDigest !== undefined && req.images.every((t) => before.get(t) === digest);
  if (unchanged) log(`--> Output unchanged: ${req.images.join(", ")} already held ${digest}`);
  const check = req.registry
    ? await checkPublished(`${repoOf(image)}@${digest}`, image, {
        registry: req.registry,
        policy: req.imagePolicy ?? "Warn",
        log,
        ...(req.onImageCheck ? { onCheck: req.onImageCheck } : {}),
      })
    : undefined;
  return { digest, image, tags, unchanged, ...(check ? { check } : {}) };
}
