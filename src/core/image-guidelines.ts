/**
 * The image guidelines check: what OKD asks of images that run well on it,
 * read off an image's config after the build. Pure: the config in, findings
 * out, in a fixed order.
 *
 * - `User` is numeric and not 0, so that the image runs as an arbitrary uid
 *   (OpenShift's restricted SCC assigns one; a name needs /etc/passwd, and 0
 *   is root);
 * - no exposed port is below 1024, since an unprivileged user cannot bind it;
 * - `io.k8s.description`, `io.k8s.display-name` and `io.openshift.tags` are
 *   present, so consoles and catalogues can describe the image;
 * - `io.openshift.expose-services`, when present, is a comma-separated list
 *   of `PORT[/PROTOCOL]:NAME`.
 */
import { z } from "zod";
import type { ImageConfig } from "../ports/registry.js";

export const Guideline = z.enum(["non-root-user", "unprivileged-ports", "descriptive-labels", "expose-services-format"]);
export type Guideline = z.infer<typeof Guideline>;

export const GuidelineFinding = z.object({ guideline: Guideline, message: z.string() });
export type GuidelineFinding = z.infer<typeof GuidelineFinding>;

export const ImagePolicyMode = z.enum(["Warn", "Enforce"]);
export type ImagePolicyMode = z.infer<typeof ImagePolicyMode>;

/** What a build records of the check: the policy it ran under and what it found. */
export const ImageCheck = z.object({
  policy: ImagePolicyMode,
  image: z.string(),
  passed: z.boolean(),
  findings: z.array(GuidelineFinding),
});
export type ImageCheck = z.infer<typeof ImageCheck>;

export const REQUIRED_LABELS = ["io.k8s.description", "io.k8s.display-name", "io.openshift.tags"] as const;
const EXPOSE_SERVICE = /^(\d{1,5})(?:\/(tcp|udp|sctp))?:([A-Za-z0-9][-A-Za-z0-9_.]*)$/i;

export function checkImageGuidelines(config: ImageConfig): GuidelineFinding[] {
  const c = config.config ?? {};
  const findings: GuidelineFinding[] = [];
  const user = (c.User ?? "").trim();
  const uid = user.split(":")[0] ?? "";
  if (user === "") {
    findings.push({ guideline: "non-root-user", message: "the image runs as root: it sets no USER; set a numeric non-zero USER such as 1001" });
  } else if (!/^\d+$/.test(uid)) {
    findings.push({ guideline: "non-root-user", message: `USER ${JSON.stringify(user)} is not numeric: an arbitrary uid cannot be checked against a name; use a numeric uid such as 1001` });
  } else if (Number(uid) === 0) {
    findings.push({ guideline: "non-root-user", message: `the image runs as root (USER ${JSON.stringify(user)}); set a numeric non-zero USER such as 1001` });
  }
  for (const key of Object.keys(c.ExposedPorts ?? {}).sort()) {
    const port = Number(/^(\d+)/.exec(key)?.[1] ?? NaN);
    if (Number.isFinite(port) && port < 1024) {
      findings.push({ guideline: "unprivileged-ports", message: `exposed port ${key} is below 1024, which an unprivileged user cannot bind; use 8080 or another port above 1023` });
    }
  }
  const labels = c.Labels ?? {};
  const missing = REQUIRED_LABELS.filter((l) => !(labels[l] ?? "").trim());
  if (missing.length > 0) {
    findings.push({ guideline: "descriptive-labels", message: `missing label${missing.length > 1 ? "s" : ""} ${missing.join(", ")}` });
  }
  const services = labels["io.openshift.expose-services"];
  if (services !== undefined) {
    const bad = services.split(",").map((s) => s.trim()).filter((s) => {
      const m = EXPOSE_SERVICE.exec(s);
      return !m || Number(m[1]) < 1 || Number(m[1]) > 65535;
    });
    if (services.trim() === "" || bad.length > 0) {
      findings.push({
        guideline: "expose-services-format",
        message: `label io.openshift.expose-services ${JSON.stringify(services)} is not a list of PORT[/PROTOCOL]:NAME (e.g. "8080:http")${bad.length ? `; bad entries: ${bad.map((b) => JSON.stringify(b)).join(", ")}` : ""}`,
      });
    }
  }
  return findings;
}
