/**
 * Container image references, parsed and normalised the way
 * docker/distribution's `reference` package (ParseNormalizedNamed +
 * TagNameOnly) and containers/image do: `node` means
 * `docker.io/library/node:latest`. Pure: no I/O.
 *
 * Grammar (distribution/reference):
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [domain "/"] path-component ["/" path-component]*
 *   domain    := (domain-name | "[" ipv6 "]") [":" port]
 *   path-component := [a-z0-9]+ (([._]|__|-+) [a-z0-9]+)*
 *   tag       := [\w][\w.-]{0,127}
 */
import { z } from "zod";
import { ValidationError } from "./errors.js";

export const ImageRef = z.object({
  /** Registry host, lowercased, with its port if any: `docker.io`, `localhost:5000`, `[::1]:5000`. */
  registry: z.string().min(1),
  /** Repository path, always lowercase: `library/node`, `user/app`. */
  repository: z.string().min(1),
  /** Tag; `latest` when the reference had neither tag nor digest. */
  tag: z.string().optional(),
  /** Content digest, `sha256:<64 hex>` (or sha384/sha512). */
  digest: z.string().optional(),
});
export type ImageRef = z.infer<typeof ImageRef>;

export const DEFAULT_REGISTRY = "docker.io";
export const DEFAULT_TAG = "latest";
const OFFICIAL_NAMESPACE = "library";
/** Hosts that are aliases of Docker Hub. */
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);
const NAME_TOTAL_LENGTH_MAX = 255;

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_RE = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
/** Digest algorithms go-digest registers, with their hex lengths. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Why `digest` is not `<algorithm>:<lowercase hex>` with a known algorithm and length, or undefined when it is fine. */
function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(":");
  const algorithm = colon < 0 ? "" : digest.slice(0, colon);
  const hex = colon < 0 ? "" : digest.slice(colon + 1);
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) {
    return `digest ${JSON.stringify(digest)}: algorithm must be one of ${Object.keys(DIGEST_HEX_LENGTH).join(", ")}`;
  }
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
    return `digest ${JSON.stringify(digest)}: ${algorithm} needs ${length} lowercase hex characters`;
  }
  return undefined;
}

/** Returns `digest` unchanged, or throws a ValidationError naming it. */
export function validateDigest(digest: string): string {
  const problem = digestProblem(digest);
  if (problem !== undefined) throw new ValidationError(`invalid ${problem}`);
  return digest;
}

/**
 * Parses and normalises an image reference. The result always names a
 * registry, maps Docker Hub aliases to `docker.io`, adds `library/` to
 * one-component Docker Hub names, and adds the `latest` tag when the
 * reference has neither tag nor digest.
 */
export function parseImageRef(s: string): ImageRef {
  const q = JSON.stringify(s);
  const fail = (why: string): never => {
    throw new ValidationError(`invalid image reference ${q}: ${why}`);
  };
  if (s.length === 0) fail("it is empty");
  if (/\s/.test(s)) fail("it contains whitespace");

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (digest.includes("@")) fail("it contains more than one '@'");
    const problem = digestProblem(digest);
    if (problem !== undefined) fail(problem);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) fail(`tag ${JSON.stringify(tag)} must match [\\w][\\w.-]{0,127}`);
  }

  const name = rest;
  if (name.length === 0) fail("the name is empty");
  if (name.length > NAME_TOTAL_LENGTH_MAX) fail(`the name is longer than ${NAME_TOTAL_LENGTH_MAX} characters`);

  let registry = DEFAULT_REGISTRY;
  let repository = name;
  const firstSlash = name.indexOf("/");
  if (firstSlash >= 0) {
    const first = name.slice(0, firstSlash);
    if (first.includes(".") || first.includes(":") || first === "localhost") {
      if (!DOMAIN_RE.test(first)) fail(`registry ${JSON.stringify(first)} is not a valid host[:port]`);
      registry = first.toLowerCase();
      repository = name.slice(firstSlash + 1);
    }
  }
  if (DOCKER_HUB_ALIASES.has(registry)) registry = DEFAULT_REGISTRY;

  if (repository !== repository.toLowerCase()) {
    fail(`repository ${JSON.stringify(repository)} must be lowercase`);
  }
  for (const component of repository.split("/")) {
    if (!PATH_COMPONENT_RE.test(component)) {
      fail(
        component.length === 0
          ? `repository ${JSON.stringify(repository)} has an empty path component`
          : `repository path component ${JSON.stringify(component)} is not valid`,
      );
    }
  }
  if (registry === DEFAULT_REGISTRY && !repository.includes("/")) {
    repository = `${OFFICIAL_NAMESPACE}/${repository}`;
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;

  const ref: ImageRef = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** Formats a parsed reference: `registry/repository[:tag][@digest]`. Adds no defaults. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? "" : `:${ref.tag}`}${
    ref.digest === undefined ? "" : `@${ref.digest}`
  }`;
}

/** The canonical string form of a reference, e.g. `node` -> `docker.io/library/node:latest`. */
export function normalizeImageRef(s: string): string {
  return formatImageRef(parseImageRef(s));
}

function toRef(ref: ImageRef | string): ImageRef {
  return typeof ref === "string" ? parseImageRef(ref) : ref;
}

/** `registry/repository@digest`, dropping any tag (the digest pins the content). */
export function withDigest(ref: ImageRef | string, digest: string): string {
  const r = toRef(ref);
  validateDigest(digest);
  return formatImageRef({ registry: r.registry, repository: r.repository, digest });
}

/** `registry/repository`, without tag or digest. */
export function repositoryKey(ref: ImageRef | string): string {
  const r = toRef(ref);
  return `${r.registry}/${r.repository}`;
}

/**
 * Whether two references name the same image: same normalised repository and
 * tag. When both carry a digest, the digests must agree as well.
 */
export function sameImage(a: ImageRef | string, b: ImageRef | string): boolean {
  const x = toRef(a);
  const y = toRef(b);
  if (repositoryKey(x) !== repositoryKey(y) || x.tag !== y.tag) return false;
  return x.digest === undefined || y.digest === undefined || x.digest === y.digest;
}

/**
 * Resolves an OpenShift `from: {kind: ImageStreamTag, name: "nodejs:20", namespace}`
 * through the configured image-stream map. Keys are `namespace/stream:tag` or
 * `stream:tag`; the namespaced key wins. Returns the normalised image reference.
 */
export function resolveImageStreamTag(name: string, namespace: string, map: Record<string, string>): string {
  const colon = name.lastIndexOf(":");
  if (colon <= 0 || colon === name.length - 1 || name.includes("/") || /\s/.test(name)) {
    throw new ValidationError(`invalid ImageStreamTag ${JSON.stringify(name)}: expected <imagestream>:<tag>`);
  }
  const keys = namespace === "" ? [name] : [`${namespace}/${name}`, name];
  for (const key of keys) {
    if (Object.hasOwn(map, key)) {
      const target = map[key] as string;
      try {
        return normalizeImageRef(target);
      } catch (err) {
        throw new ValidationError(
          `ImageStreamTag ${JSON.stringify(key)} maps to an invalid image: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
  }
  const where = namespace === "" ? JSON.stringify(name) : JSON.stringify(`${namespace}/${name}`);
  throw new ValidationError(
    `unknown ImageStreamTag ${where}: not in the image-stream map (looked up ${keys.map((k) => JSON.stringify(k)).join(", ")})`,
  );
}
