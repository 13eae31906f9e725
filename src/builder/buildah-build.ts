/**
 * What every strategy shares inside the builder once it has a Dockerfile:
 * `buildah bud` with rootless chroot isolation in this build's own vfs
 * storage, then a push by digest to every output tag.
 */
import { readFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { parseImageRef } from "../core/image-ref.js";
import { exec, StepFailed, errorLine, type LogSink } from "./exec.js";

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
}

/** Keep a path inside the checkout: `..` escapes are refused. */
export function inside(root: string, rel: string, field: string, reason = "InvalidDockerfile"): string {
  const p = resolve(root, rel);
  if (p !== root && !p.startsWith(root + sep)) {
    throw new StepFailed(reason, `${field} "${rel}" points outside the source tree`);
  }
  return p;
}

export interface BudRequest {
  buildName: string;
  /** The Dockerfile to build (outside the context, in the work folder). */
  dockerfile: string;
  contextDir: string;
  /** Output references (name:tag), the first being the primary. */
  images: string[];
  labels: [string, string][];
  env: [string, string][];
  buildArgs: { name: string; value: string }[];
  noCache: boolean;
  /** The failure reason when `bud` fails: `DockerBuildFailed`, or `AssembleFailed` for S2I. */
  failReason: string;
  what: string;
}

export async function budAndPush(
  req: BudRequest,
  workDir: string,
  buildah: BuildahEnv,
  log: LogSink,
): Promise<{ digest: string; image: string; tags: string[] }> {
  const image = req.images[0]!;
  const localTag = `localhost/cascade/${req.buildName}:build`;
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
    ...(req.noCache ? ["--no-cache"] : []),
    ...req.buildArgs.flatMap((a) => ["--build-arg", `${a.name}=${a.value}`]),
    ...req.labels.flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    ...req.env.flatMap(([k, v]) => ["--env", `${k}=${v}`]),
    req.contextDir,
  ];
  log(`--> Building ${image} ${req.what} with buildah (rootless, chroot isolation, fresh vfs storage)`);
  const built = await exec("buildah", bud, { cwd: workDir, env: buildah.env, log });
  if (built.code !== 0) throw new StepFailed(req.failReason, `buildah bud failed: ${errorLine(built.tail)}`);

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
  return { digest, image, tags };
}
