/**
 * Image labels and build environment for a build, as OpenShift writes them
 * (`io.openshift.build.*`, `OPENSHIFT_BUILD_*`) plus the OCI annotations
 * (`org.opencontainers.image.*`). Pure: same inputs, same labels, sorted.
 *
 * Where Cascade differs from OpenShift: the build's name
 * (`io.openshift.build.name`, `OPENSHIFT_BUILD_NAME`) is not written into
 * the image. Everything here derives from the build's inputs (commit,
 * source, ref, bases, namespace), so that two builds of the same inputs push
 * the same digest; the build record and its CloudEvents link the build to
 * that digest instead.
 */

export interface CommitInfo {
  id: string;
  ref?: string;
  author?: string;
  date?: string;
  message?: string;
}

export interface LabelInput {
  namespace: string;
  sourceUri: string;
  contextDir?: string;
  commit?: CommitInfo;
  /** The last stage's base (the image's parent), with its digest when known. */
  base?: { name: string; digest?: string };
  /** Output image reference (name:tag). */
  image: string;
  /** `spec.output.imageLabels`: these override every computed label. */
  imageLabels?: { name: string; value?: string }[];
  /** Docker builds also get the namespace label. */
  strategy: "Docker" | "Source" | "Custom";
}

export function buildLabels(input: LabelInput): [string, string][] {
  const labels = new Map<string, string>();
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined && v !== "") labels.set(k, v);
  };
  const c = input.commit;
  set("io.openshift.build.commit.id", c?.id);
  set("io.openshift.build.commit.ref", c?.ref);
  set("io.openshift.build.commit.author", c?.author);
  set("io.openshift.build.commit.date", c?.date);
  // Only the subject line: a label value is a single line.
  set("io.openshift.build.commit.message", c?.message?.split("\n")[0]);
  set("io.openshift.build.source-location", input.sourceUri);
  set("io.openshift.build.source-context-dir", input.contextDir);
  // As S2I writes it: the image the build ran on (the S2I builder, or the Dockerfile's last base).
  set("io.openshift.build.image", input.base?.name);
  if (input.strategy === "Docker") {
    set("io.openshift.build.namespace", input.namespace);
  }
  set("org.opencontainers.image.source", input.sourceUri);
  set("org.opencontainers.image.revision", c?.id);
  set("org.opencontainers.image.base.name", input.base?.name);
  set("org.opencontainers.image.base.digest", input.base?.digest);
  for (const l of input.imageLabels ?? []) labels.set(l.name, l.value ?? "");
  return [...labels.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function buildEnv(input: { namespace: string; sourceUri: string; ref?: string; commit?: string }) {
  const env: [string, string][] = [
    ["OPENSHIFT_BUILD_NAMESPACE", input.namespace],
    ["OPENSHIFT_BUILD_SOURCE", input.sourceUri],
  ];
  if (input.ref) env.push(["OPENSHIFT_BUILD_REFERENCE", input.ref]);
  if (input.commit) env.push(["OPENSHIFT_BUILD_COMMIT", input.commit]);
  return env;
}
