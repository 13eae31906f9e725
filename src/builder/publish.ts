/**
 * Publishing a built image, and the image guidelines check on what was
 * published.
 *
 * - `publishLayout` pushes an OCI image layout (what a Custom-strategy
 *   builder writes, or what buildah writes for an `Enforce` build) with
 *   Cascade's own registry client: blobs, then the manifest *by digest*,
 *   which moves no tag; then it checks the pushed image's config, and moves
 *   the output tags only when the policy allows.
 * - `checkPublished` runs the same check after a plain buildah push
 *   (`Warn`, the default), where the tags have already moved.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { checkImageGuidelines, type ImageCheck } from "../core/image-guidelines.js";
import { parseImageRef } from "../core/image-ref.js";
import { RegistryError } from "../core/errors.js";
import type { RegistryWriter } from "../ports/registry.js";
import { StepFailed, type LogSink } from "./exec.js";

const Descriptor = z.object({ mediaType: z.string(), digest: z.string().regex(/^sha256:[a-f0-9]{64}$/), size: z.number().optional(), annotations: z.record(z.string(), z.string()).optional() });
const LayoutIndex = z.object({ schemaVersion: z.literal(2), manifests: z.array(Descriptor).min(1) });
const ImageManifest = z.object({ mediaType: z.string().optional(), config: Descriptor, layers: z.array(Descriptor) });
const IndexManifest = z.object({ mediaType: z.string().optional(), manifests: z.array(Descriptor).min(1) });

const INDEX_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);

export interface Published {
  image: string;
  digest: string;
  tags: string[];
  unchanged: boolean;
  check: ImageCheck;
}

export interface PublishOptions {
  registry: RegistryWriter;
  policy: "Warn" | "Enforce";
  log: LogSink;
  onCheck?: (check: ImageCheck) => void;
  /** The failure reason when the layout is unusable (`GenericBuildFailed` for Custom builds). */
  layoutReason?: string;
}

/** `registry/repository` of an image reference: where it is pushed by digest. */
export const repoOf = (image: string) => {
  const r = parseImageRef(image);
  return `${r.registry}/${r.repository}`;
};

/** The digest a tag holds now, or undefined when it holds none (one HEAD; a 404 is "none"). */
export async function currentDigest(registry: Pick<RegistryWriter, "resolveDigest">, ref: string): Promise<string | undefined> {
  try {
    return (await registry.resolveDigest(ref)).digest;
  } catch (e) {
    if (e instanceof RegistryError && e.status === 404) return undefined;
    throw e;
  }
}

/** Run the guidelines check on a pushed image (by digest), log it and report it. */
export async function checkPublished(imageByDigest: string, image: string, o: Pick<PublishOptions, "registry" | "policy" | "log" | "onCheck">): Promise<ImageCheck> {
  let findings;
  try {
    findings = checkImageGuidelines(await o.registry.getImageConfig(imageByDigest));
  } catch (e) {
    throw new StepFailed("PushImageToRegistryFailed", `cannot read the config of ${imageByDigest} for the image guidelines check: ${(e as Error).message}`);
  }
  const check: ImageCheck = { policy: o.policy, image: imageByDigest, passed: findings.length === 0, findings };
  if (findings.length === 0) o.log(`--> Image guidelines: ${image} follows them all`);
  else {
    o.log(`--> Image guidelines (${o.policy}): ${findings.length} finding${findings.length > 1 ? "s" : ""} for ${image}`);
    for (const f of findings) o.log(`${o.policy === "Enforce" ? "error" : "warning"}: image guideline ${f.guideline}: ${f.message}`);
  }
  o.onCheck?.(check);
  return check;
}

/** The findings as one failure message: `ImagePolicyViolation` under `Enforce`. */
export function violationMessage(image: string, check: ImageCheck): string {
  return `image ${check.image} breaks the image guidelines (imagePolicy Enforce), so ${image} was not moved: ${check.findings
    .map((f) => `${f.guideline}: ${f.message}`)
    .join("; ")}`;
}

/**
 * Push the single image (or index) of an OCI layout to the repositories of
 * `images`, by digest; check it; then tag it, unless `Enforce` and the check
 * failed, in which case it throws `ImagePolicyViolation` after calling
 * `onPushedByDigest`, with no tag moved.
 */
export async function publishLayout(
  layoutDir: string,
  images: string[],
  o: PublishOptions & { onPushedByDigest?: (p: { image: string; digest: string }) => void },
): Promise<Published> {
  const reason = o.layoutReason ?? "PushImageToRegistryFailed";
  const fail = (message: string): never => {
    throw new StepFailed(reason, `OCI layout ${layoutDir}: ${message}`);
  };
  const blob = async (digest: string): Promise<Uint8Array> => {
    try {
      return new Uint8Array(await readFile(join(layoutDir, "blobs", "sha256", digest.slice("sha256:".length))));
    } catch {
      return fail(`blob ${digest} is missing from blobs/sha256`);
    }
  };
  let index;
  try {
    index = LayoutIndex.parse(JSON.parse(await readFile(join(layoutDir, "index.json"), "utf8")));
  } catch (e) {
    return fail(`index.json is missing or not an OCI index (${(e as Error).message.split("\n")[0]})`);
  }
  if (index.manifests.length > 1) {
    const names = index.manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"] ?? m.digest);
    fail(`index.json lists ${index.manifests.length} images (${names.join(", ")}); write exactly one`);
  }
  const top = index.manifests[0]!;
  const repos = [...new Set(images.map(repoOf))];

  // Depth first: blobs, then the manifests that name them, then the index over them.
  const pushManifest = async (d: z.infer<typeof Descriptor>, depth: number): Promise<{ raw: Uint8Array; mediaType: string }> => {
    if (depth > 2) fail("indexes nest too deep");
    const raw = await blob(d.digest);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      fail(`manifest ${d.digest} is not JSON`);
    }
    const mediaType = (json as { mediaType?: string }).mediaType ?? d.mediaType;
    if (INDEX_TYPES.has(mediaType)) {
      const idx = IndexManifest.safeParse(json);
      if (!idx.success) fail(`index ${d.digest} is not valid: ${idx.error.issues[0]?.message}`);
      for (const child of idx.data!.manifests) await pushManifest(child, depth + 1);
    } else {
      const m = ImageManifest.safeParse(json);
      if (!m.success) fail(`manifest ${d.digest} is not an image manifest: ${m.error.issues[0]?.path.join(".")} ${m.error.issues[0]?.message}`);
      for (const b of [m.data!.config, ...m.data!.layers]) {
        const data = await blob(b.digest);
        for (const repo of repos) await o.registry.putBlob(repo, b.digest, data);
      }
    }
    for (const repo of repos) await o.registry.putManifest(`${repo}@${d.digest}`, raw, mediaType);
    return { raw, mediaType };
  };
  let pushed: { raw: Uint8Array; mediaType: string };
  try {
    pushed = await pushManifest(top, 0);
  } catch (e) {
    if (e instanceof StepFailed) throw e;
    throw new StepFailed("PushImageToRegistryFailed", `push by digest to ${repos.join(", ")} failed: ${(e as Error).message}`);
  }
  const digest = top.digest;
  const image = images[0]!;
  const byDigest = `${repoOf(image)}@${digest}`;
  o.log(`--> Pushed by digest ${byDigest} (no tag moved yet)`);
  const check = await checkPublished(byDigest, image, o);
  if (o.policy === "Enforce" && !check.passed) {
    o.onPushedByDigest?.({ image, digest });
    throw new StepFailed("ImagePolicyViolation", violationMessage(images.join(", "), check));
  }

  const { raw, mediaType } = pushed;
  const before = new Map<string, string | undefined>();
  for (const target of images) before.set(target, await currentDigest(o.registry, target).catch(() => undefined));
  const tags: string[] = [];
  for (const target of images) {
    try {
      await o.registry.putManifest(target, raw, mediaType);
    } catch (e) {
      throw new StepFailed("PushImageToRegistryFailed", `tagging ${target} failed: ${(e as Error).message}`);
    }
    const tag = parseImageRef(target).tag;
    if (tag) tags.push(tag);
    o.log(`--> Tagged ${target}`);
  }
  const unchanged = images.every((t) => before.get(t) === digest);
  if (unchanged) o.log(`--> Output unchanged: ${images.join(", ")} already held ${digest}`);
  return { image, digest, tags, unchanged, check };
}
