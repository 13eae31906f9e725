/**
 * The Docker strategy inside the builder: read the Dockerfile, apply
 * `dockerStrategy.from`, pin every external base to the digest it resolves
 * to now, build with rootless buildah (chroot isolation, vfs storage, fresh
 * storage for this build) and push by digest.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { appendLabels, parseDockerfile, rewriteFrom, lastStageIndex, secretMounts } from "../core/dockerfile.js";
import { normalizeImageRef, parseImageRef } from "../core/image-ref.js";
import { buildEnv, buildLabels } from "../core/labels.js";
import { budAndPush, inside, type BudExtras, type BuildahEnv, type BuiltImage } from "./buildah-build.js";
import { buildSecretFlags } from "./build-inputs.js";
import { StepFailed, type LogSink } from "./exec.js";
import type { BuilderJob } from "./job.js";
import type { FetchedSource } from "./source.js";

type DockerJob = BuilderJob & { strategy: { type: "Docker" } };

export async function dockerBuild(
  job: DockerJob,
  src: FetchedSource,
  workDir: string,
  buildah: BuildahEnv,
  resolveDigest: (ref: string) => Promise<string>,
  log: LogSink,
  onBases: (bases: { name: string; digest?: string }[]) => void,
  extras: BudExtras = {},
): Promise<BuiltImage> {
  const contextDir = inside(src.dir, job.source.contextDir ?? ".", "contextDir");
  let text: string;
  if (job.source.dockerfile !== undefined) {
    text = job.source.dockerfile;
  } else {
    const file = inside(contextDir, job.strategy.dockerfilePath, "dockerfilePath");
    try {
      text = await readFile(file, "utf8");
    } catch {
      throw new StepFailed(
        "InvalidDockerfile",
        `no Dockerfile at ${relative(src.dir, file) || job.strategy.dockerfilePath} in commit ${src.commit}`,
      );
    }
  }
  const buildArgs = Object.fromEntries(job.strategy.buildArgs.map((a) => [a.name, a.value]));
  let info;
  try {
    info = parseDockerfile(text, buildArgs);
  } catch (e) {
    throw new StepFailed("InvalidDockerfile", `Dockerfile: ${(e as Error).message}`);
  }
  let mounts;
  try {
    mounts = secretMounts(text);
  } catch (e) {
    throw new StepFailed("InvalidDockerfile", `Dockerfile: ${(e as Error).message}`);
  }
  const secretFlags = await buildSecretFlags(job.strategy.buildSecrets, mounts, workDir, log);
  const replacements = new Map<number, string>();
  const last = lastStageIndex(info);
  if (job.strategy.from) replacements.set(last, job.strategy.from);

  // Resolve every external base (after the override) to its digest and pin it.
  const bases: { name: string; digest?: string }[] = [];
  let lastBase: { name: string; digest?: string } | undefined;
  const pinned = new Map<string, string>();
  for (const stage of info.stages) {
    const raw = replacements.get(stage.index) ?? (stage.baseKind === "external" ? stage.from : undefined);
    if (raw === undefined) continue;
    const name = normalizeImageRef(raw);
    let digest = parseImageRef(name).digest;
    if (!digest) {
      digest = pinned.get(name);
      if (!digest) {
        try {
          digest = await resolveDigest(name);
        } catch (e) {
          throw new StepFailed("PullBuilderImageFailed", `cannot resolve base image ${name}: ${(e as Error).message}`);
        }
        pinned.set(name, digest);
      }
    }
    if (!bases.some((b) => b.name === name)) bases.push({ name, digest });
    const ref = parseImageRef(name);
    replacements.set(stage.index, `${ref.registry}/${ref.repository}@${digest}`);
    if (stage.index === last) lastBase = { name, digest };
  }
  onBases(bases);
  for (const b of bases) log(`--> Base ${b.name} pinned to ${b.digest}`);

  const dockerfile = join(workDir, "Dockerfile.cascade");

  const image = job.output.images[0]!;
  const labels = buildLabels({
    namespace: job.namespace,
    sourceUri: job.source.uri,
    contextDir: job.source.contextDir,
    commit: { id: src.commit, ref: job.source.ref, author: src.author, date: src.date, message: src.message },
    base: lastBase,
    image,
    imageLabels: job.output.imageLabels,
    strategy: "Docker",
  });
  // The labels as one LABEL instruction at the end: one build step, not one per label.
  await writeFile(dockerfile, appendLabels(rewriteFrom(text, replacements), labels));
  const env = [
    ...buildEnv({ namespace: job.namespace, sourceUri: job.source.uri, ref: job.source.ref, commit: src.commit }),
    ...job.strategy.env.map((e) => [e.name, e.value] as [string, string]),
  ];
  const pushed = await budAndPush(
    {
      buildName: job.buildName,
      dockerfile,
      contextDir,
      images: job.output.images,
      env,
      buildArgs: job.strategy.buildArgs,
      noCache: job.strategy.noCache,
      failReason: "DockerBuildFailed",
      what: "from its Dockerfile",
      epoch: src.epoch,
      ...extras,
      extraFlags: [...(extras.extraFlags ?? []), ...secretFlags],
    },
    workDir,
    buildah,
    log,
  );
  return { bases, ...pushed };
}
