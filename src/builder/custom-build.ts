/**
 * The Custom strategy inside the builder: run the user's builder image
 * rootless (`buildah from` into this build's fresh storage, then `buildah run`
 * with chroot isolation, as the unprivileged builder user), with OpenShift's
 * environment (`BUILD`, `SOURCE_*`, `OUTPUT_REGISTRY`, `OUTPUT_IMAGE`) and
 * the BuildConfig's `env`.
 *
 * Where Cascade does better than OpenShift: the source is already fetched and
 * mounted read-only at `/workspace/source`, and the builder writes an OCI
 * image layout to `/workspace/output`, which Cascade pushes by digest,
 * checks and tags itself. Custom code so never holds registry credentials;
 * only when `spec.output.pushSecret` is set does it get them (a
 * `.dockerconfigjson` under `PUSH_DOCKERCFG_PATH`, as in OpenShift) and push
 * by itself. It never gets a container engine socket
 * (`exposeDockerSocket` is refused when the BuildConfig is applied).
 */
import { chmod, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { parseImageRef } from "../core/image-ref.js";
import { buildEnv } from "../core/labels.js";
import type { RegistryWriter } from "../ports/registry.js";
import { pinBuilderImage, type BudExtras, type BuildahEnv, type BuiltImage } from "./buildah-build.js";
import { writeKeys } from "./build-inputs.js";
import { exec, StepFailed, errorLine, type LogSink } from "./exec.js";
import type { BuilderJob } from "./job.js";
import { checkPublished, publishLayout, repoOf, violationMessage } from "./publish.js";
import type { FetchedSource } from "./source.js";

type CustomJob = BuilderJob & { strategy: { type: "Custom" } };

export const SOURCE_MOUNT = "/workspace/source";
export const OUTPUT_MOUNT = "/workspace/output";
export const PUSH_SECRET_MOUNT = "/var/run/secrets/openshift.io/push";

/** OpenShift's Custom-strategy environment, plus where Cascade put the source and wants the layout. */
export function customEnv(job: CustomJob, src: FetchedSource | undefined): [string, string][] {
  const image = parseImageRef(job.output.images[0]!);
  return [
    ["BUILD", job.strategy.buildJson],
    ["SOURCE_REPOSITORY", job.source.uri],
    ["SOURCE_URI", job.source.uri],
    ...(job.source.ref ? ([["SOURCE_REF", job.source.ref]] as [string, string][]) : []),
    ...(job.source.contextDir ? ([["SOURCE_CONTEXT_DIR", job.source.contextDir]] as [string, string][]) : []),
    ["OUTPUT_REGISTRY", image.registry],
    ["OUTPUT_IMAGE", `${image.repository}${image.tag ? `:${image.tag}` : ""}`],
    ...buildEnv({ namespace: job.namespace, sourceUri: job.source.uri, ref: job.source.ref, commit: src?.commit }),
    ["CASCADE_SOURCE_DIR", SOURCE_MOUNT],
    ["CASCADE_OUTPUT_DIR", OUTPUT_MOUNT],
    ...(job.strategy.pushSecret ? ([["PUSH_DOCKERCFG_PATH", PUSH_SECRET_MOUNT]] as [string, string][]) : []),
    ...job.strategy.env.map((e) => [e.name, e.value] as [string, string]),
  ];
}

export async function customBuild(
  job: CustomJob,
  src: FetchedSource | undefined,
  workDir: string,
  buildah: BuildahEnv,
  registry: RegistryWriter,
  log: LogSink,
  onBases: (bases: { name: string; digest?: string }[]) => void,
  extras: BudExtras = {},
): Promise<BuiltImage> {
  const s = job.strategy;
  const { name, digest, pinned } = await pinBuilderImage(s.from, async (ref) => (await registry.resolveDigest(ref)).digest, "custom builder image", log, onBases);
  let command: string[];
  try {
    const c = (await registry.getImageConfig(pinned)).config ?? {};
    command = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  } catch (e) {
    throw new StepFailed("PullBuilderImageFailed", `cannot read custom builder image ${name}: ${(e as Error).message}`);
  }
  if (command.length === 0) throw new StepFailed("PullBuilderImageFailed", `custom builder image ${name} has neither ENTRYPOINT nor CMD`);

  const container = `cascade-custom-${job.buildName}`;
  const from = await exec("buildah", [...buildah.storageFlags, "from", "--authfile", buildah.authFile, "--name", container, pinned], { cwd: workDir, env: buildah.env, log, quiet: true });
  if (from.code !== 0) throw new StepFailed("PullBuilderImageFailed", `cannot pull custom builder image ${name}: ${errorLine(from.tail)}`);

  const output = join(workDir, "output");
  await mkdir(output, { recursive: true });
  await chmod(output, 0o777); // whatever uid the image runs as writes here; the work folder itself is 0700
  const volumes: string[] = [];
  if (src) volumes.push("--volume", `${src.dir}:${SOURCE_MOUNT}:ro`);
  volumes.push("--volume", `${output}:${OUTPUT_MOUNT}`);
  for (const [i, m] of s.secrets.entries()) {
    const dir = join(workDir, "custom-secrets", String(i));
    await writeKeys(dir, Object.fromEntries(Object.entries(m.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")])));
    volumes.push("--volume", `${dir}:${m.mountPath}:ro`);
    log(`--> Secret ${m.secret} mounted read-only at ${m.mountPath}`);
  }
  const before = new Map<string, string | undefined>();
  if (s.pushSecret) {
    const dir = join(workDir, "push-secret");
    const data = Object.fromEntries(Object.entries(s.pushSecret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")]));
    await writeKeys(dir, data);
    volumes.push("--volume", `${dir}:${PUSH_SECRET_MOUNT}:ro`);
    log(`--> Push secret ${s.pushSecret.name} mounted at ${PUSH_SECRET_MOUNT}: the builder pushes by itself`);
    for (const target of job.output.images) before.set(target, await extras.currentDigest?.(target).catch(() => undefined));
  } else {
    log(`--> The builder writes an OCI image layout to ${OUTPUT_MOUNT}; Cascade pushes it (no registry credentials in the builder)`);
  }
  const env = customEnv(job, src).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
  log(`--> Running ${name}: ${command.join(" ")} (rootless, chroot isolation)`);
  const ran = await exec("buildah", [...buildah.storageFlags, "run", "--isolation", "chroot", ...volumes, ...env, container, "--", ...command], {
    cwd: workDir,
    env: buildah.env,
    log,
  });
  if (ran.code !== 0) throw new StepFailed("GenericBuildFailed", `custom builder ${name} exited with status ${ran.code}: ${errorLine(ran.tail)}`);

  const policy = job.imagePolicy;
  const onCheck = extras.onImageCheck;
  if (s.pushSecret) {
    const image = job.output.images[0]!;
    let pushed: string;
    try {
      pushed = (await registry.resolveDigest(image)).digest;
    } catch (e) {
      throw new StepFailed("PushImageToRegistryFailed", `the custom builder was to push ${image} itself, but it is not in the registry: ${(e as Error).message}`);
    }
    log(`--> The builder pushed ${image}@${pushed}`);
    const check = await checkPublished(`${repoOf(image)}@${pushed}`, image, {
      registry,
      policy,
      log,
      ...(onCheck ? { onCheck } : {}),
    });
    // The builder moved the tag itself: Enforce can only fail the build.
    if (policy === "Enforce" && !check.passed) {
      extras.onPushedByDigest?.({ image, digest: pushed });
      throw new StepFailed("ImagePolicyViolation", violationMessage(image, check) + " (the builder pushed with spec.output.pushSecret, so the tag had already moved)");
    }
    const tags = job.output.images.flatMap((t) => parseImageRef(t).tag ?? []);
    return { bases: [{ name, digest }], image, digest: pushed, tags, unchanged: job.output.images.every((t) => before.get(t) === pushed), check };
  }
  const entries = await readdir(output).catch(() => [] as string[]);
  if (!entries.includes("index.json")) {
    throw new StepFailed("GenericBuildFailed", `custom builder ${name} wrote no OCI image layout to ${OUTPUT_MOUNT} (no index.json; found ${entries.length ? entries.join(", ") : "nothing"})`);
  }
  const published = await publishLayout(output, job.output.images, {
    registry,
    policy,
    log,
    layoutReason: "GenericBuildFailed",
    ...(onCheck ? { onCheck } : {}),
    ...(extras.onPushedByDigest ? { onPushedByDigest: extras.onPushedByDigest } : {}),
  });
  return { bases: [{ name, digest }], ...published };
}
