/**
 * The Source (S2I) strategy inside the builder: read the builder image's
 * config from the registry (no pull, no container), list the fetched source,
 * generate the Dockerfile with the pure `generateS2IDockerfile`, then build
 * and push it like any other Dockerfile, with the source as the context.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ValidationError } from "../core/errors.js";
import { buildEnv, buildLabels } from "../core/labels.js";
import { generateS2IDockerfile, readBuilderMetadata, type BuilderMetadata } from "../core/s2i.js";
import type { ImageConfig } from "../ports/registry.js";
import { budAndPush, inside, pinBuilderImage, type BudExtras, type BuildahEnv, type BuiltImage } from "./buildah-build.js";
import { StepFailed, type LogSink } from "./exec.js";
import type { BuilderJob } from "./job.js";
import type { FetchedSource } from "./source.js";

type SourceJob = BuilderJob & { strategy: { type: "Source" } };

/** What the S2I build reads from the registry. */
export interface S2IRegistry {
  resolveDigest(ref: string): Promise<string>;
  getImageConfig(ref: string): Promise<ImageConfig>;
  manifestExists(ref: string): Promise<boolean>;
}

/** Every file under `dir`, relative and `/`-separated, in sorted order; the checkout's own `.git` is left out. */
export async function listSourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (abs: string, rel: string) => {
    const entries = await readdir(abs, { withFileTypes: true });
    for (const e of entries) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (r === ".git") continue;
      if (e.isDirectory()) await walk(join(abs, e.name), r);
      else out.push(r);
    }
  };
  await walk(dir, "");
  return out.sort();
}

export async function s2iBuild(
  job: SourceJob,
  src: FetchedSource,
  workDir: string,
  buildah: BuildahEnv,
  registry: S2IRegistry,
  log: LogSink,
  onBases: (bases: { name: string; digest?: string }[]) => void,
  extras: BudExtras = {},
): Promise<BuiltImage> {
  const s = job.strategy;
  const contextDir = inside(src.dir, job.source.contextDir ?? ".", "contextDir", "FetchSourceFailed");

  // The builder image, pinned to the digest it has now.
  const { name, digest, pinned } = await pinBuilderImage(s.from, (ref) => registry.resolveDigest(ref), "builder image", log, onBases);

  let metadata: BuilderMetadata;
  try {
    metadata = readBuilderMetadata(await registry.getImageConfig(pinned));
  } catch (e) {
    const reason = e instanceof ValidationError ? "InvalidBuilderImage" : "PullBuilderImageFailed";
    throw new StepFailed(reason, `builder image ${name}: ${(e as Error).message}`);
  }

  let previousImage = s.incremental ? s.previousImage : undefined;
  if (previousImage !== undefined) {
    const exists = await registry.manifestExists(previousImage).catch(() => false);
    if (!exists) {
      log(`--> Previous image ${previousImage} is gone: building without saved artifacts`);
      previousImage = undefined;
    } else {
      log(`--> Incremental: restoring the artifacts saved by ${previousImage}`);
    }
  }

  const files = await listSourceFiles(contextDir);
  let environmentFile: string | undefined;
  if (files.includes(".s2i/environment")) environmentFile = await readFile(join(contextDir, ".s2i/environment"), "utf8");

  const image = job.output.images[0]!;
  const labels = buildLabels({
    namespace: job.namespace,
    sourceUri: job.source.uri,
    contextDir: job.source.contextDir,
    commit: { id: src.commit, ref: job.source.ref, author: src.author, date: src.date, message: src.message },
    base: { name, digest },
    image,
    imageLabels: job.output.imageLabels,
    strategy: "Source",
  });
  const env = buildEnv({ namespace: job.namespace, sourceUri: job.source.uri, ref: job.source.ref, commit: src.commit });
  let generated;
  try {
    generated = generateS2IDockerfile({
      builderImage: pinned,
      metadata,
      // The build's OPENSHIFT_BUILD_* variables reach assemble as ENV (buildah's --env sets only the final
      // config, so RUN would otherwise see the builder image's own); the BuildConfig's env comes after them.
      sourceStrategy: { env: [...env.map(([name, value]) => ({ name, value })), ...s.env], ...(s.scripts !== undefined ? { scripts: s.scripts } : {}), incremental: s.incremental },
      source: { files, ...(environmentFile !== undefined ? { environmentFile } : {}) },
      labels,
      ...(previousImage !== undefined ? { previousImage } : {}),
      outputImage: image,
      allowedScriptsUrlSchemes: s.allowedScriptsUrlSchemes,
    });
  } catch (e) {
    throw new StepFailed("InvalidBuilderImage", (e as Error).message);
  }
  for (const w of generated.warnings) log(`warning: ${w}`);
  const dockerfile = join(workDir, "Dockerfile.s2i");
  await writeFile(dockerfile, generated.dockerfile);
  // What S2I leaves out of the source it copies: .git always, and the patterns of the source's .s2iignore.
  const ignoreFile = join(workDir, "s2i.ignore");
  const s2iignore = files.includes(".s2iignore") ? await readFile(join(contextDir, ".s2iignore"), "utf8") : "";
  await writeFile(ignoreFile, `.git\n${s2iignore}`);
  if (s2iignore) log("--> Leaving out of the source what .s2iignore names");
  log("--> Generated Dockerfile (S2I):");
  for (const line of generated.dockerfile.trimEnd().split("\n")) log(`    ${line}`);

  const pushed = await budAndPush(
    {
      buildName: job.buildName,
      dockerfile,
      contextDir,
      images: job.output.images,
      env: [],
      buildArgs: [],
      noCache: s.noCache,
      failReason: "AssembleFailed",
      what: `with S2I builder ${name}`,
      epoch: src.epoch,
      ...extras,
      extraFlags: [...(extras.extraFlags ?? []), "--ignorefile", ignoreFile],
    },
    workDir,
    buildah,
    log,
  );
  return { bases: [{ name, digest }], ...pushed };
}
