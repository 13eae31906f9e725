/**
 * The Docker strategy inside the builder: read the Dockerfile, apply
 * `dockerStrategy.from`, pin every external base to the digest it resolves
 * to now, build with rootless buildah (chroot isolation, vfs storage, fresh
 * storage for this build) and push by digest.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { parseDockerfile, rewriteFrom, lastStageIndex } from "../core/dockerfile.js";
import { normalizeImageRef, parseImageRef } from "../core/image-ref.js";
import { buildEnv, buildLabels } from "../core/labels.js";
import { exec, StepFailed, errorLine, type LogSink } from "./exec.js";
import type { BuilderJob } from "./job.js";
import type { FetchedSource } from "./source.js";

export interface BuildahEnv {
  /** Global flags placing storage in this build's own folder. */
  storageFlags: string[];
  env: NodeJS.ProcessEnv;
  authFile: string;
}

export interface DockerBuildResult {
  bases: { name: string; digest?: string }[];
  digest: string;
  image: string;
  tags: string[];
}

/** Keep a path inside the checkout: `..` escapes are refused. */
function inside(root: string, rel: string, field: string): string {
  const p = resolve(root, rel);
  if (p !== root && !p.startsWith(root + sep)) {
    throw new StepFailed("InvalidDockerfile", `${field} "${rel}" points outside the source tree`);
  }
  return p;
}

export async function dockerBuild(
  job: BuilderJob,
  src: FetchedSource,
  workDir: string,
  buildah: BuildahEnv,
  resolveDigest: (ref: string) => Promise<string>,
  log: LogSink,
  onBases: (bases: { name: string; digest?: string }[]) => void,
): Promise<DockerBuildResult> {
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
  await writeFile(dockerfile, rewriteFrom(text, replacements));

  const image = job.output.images[0]!;
  const labels = buildLabels({
    buildName: job.buildName,
    namespace: job.namespace,
    sourceUri: job.source.uri,
    contextDir: job.source.contextDir,
    commit: { id: src.commit, ref: job.source.ref, author: src.author, date: src.date, message: src.message },
    base: lastBase,
    image,
    imageLabels: job.output.imageLabels,
    strategy: "Docker",
  });
  const env = [
    ...buildEnv({ buildName: job.buildName, namespace: job.namespace, sourceUri: job.source.uri, ref: job.source.ref, commit: src.commit }),
    ...job.strategy.env.map((e) => [e.name, e.value] as [string, string]),
  ];
  const localTag = `localhost/cascade/${job.buildName}:build`;
  const bud = [
    ...buildah.storageFlags,
    "bud",
    "--isolation",
    "chroot",
    "--authfile",
    buildah.authFile,
    "--pull",
    "-f",
    dockerfile,
    "-t",
    localTag,
    ...(job.strategy.noCache ? ["--no-cache"] : []),
    ...job.strategy.buildArgs.flatMap((a) => ["--build-arg", `${a.name}=${a.value}`]),
    ...labels.flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    ...env.flatMap(([k, v]) => ["--env", `${k}=${v}`]),
    contextDir,
  ];
  log(`--> Building ${image} with buildah (rootless, chroot isolation, fresh vfs storage)`);
  const built = await exec("buildah", bud, { cwd: workDir, env: buildah.env, log });
  if (built.code !== 0) throw new StepFailed("DockerBuildFailed", `buildah bud failed: ${errorLine(built.tail)}`);

  let digest = "";
  const tags: string[] = [];
  for (const target of job.output.images) {
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
  return { bases, digest, image, tags };
}
