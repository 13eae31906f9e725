import { describe, expect, it } from "vitest";
import { checkImageGuidelines } from "./image-guidelines.js";

const good = {
  config: {
    User: "1001",
    ExposedPorts: { "8080/tcp": {} },
    Labels: { "io.k8s.description": "A web app", "io.k8s.display-name": "Web", "io.openshift.tags": "web,nodejs", "io.openshift.expose-services": "8080:http,8443/tcp:https" },
  },
};
const withConfig = (patch: Record<string, unknown>) => ({ config: { ...good.config, ...patch } });

describe("checkImageGuidelines", () => {
  it("finds nothing in an image that follows every guideline", () => {
    expect(checkImageGuidelines(good)).toEqual([]);
    expect(checkImageGuidelines(withConfig({ User: "1001:0" }))).toEqual([]);
  });

  it("names root, a missing USER and a user name", () => {
    for (const User of ["", "0", "0:0", undefined]) {
      const f = checkImageGuidelines(withConfig({ User }));
      expect(f).toHaveLength(1);
      expect(f[0]!.guideline).toBe("non-root-user");
      expect(f[0]!.message).toMatch(/runs as root/);
    }
    expect(checkImageGuidelines(withConfig({ User: "nginx" }))[0]!.message).toMatch(/USER "nginx" is not numeric/);
  });

  it("names every exposed port below 1024", () => {
    const f = checkImageGuidelines(withConfig({ ExposedPorts: { "80/tcp": {}, "443/tcp": {}, "8080/tcp": {}, "53/udp": {} } }));
    expect(f.map((x) => x.message.split(" is ")[0])).toEqual(["exposed port 443/tcp", "exposed port 53/udp", "exposed port 80/tcp"]);
    expect(f.every((x) => x.guideline === "unprivileged-ports")).toBe(true);
  });

  it("names the missing descriptive labels", () => {
    const f = checkImageGuidelines(withConfig({ Labels: { "io.k8s.display-name": "Web", "io.openshift.tags": " " } }));
    expect(f).toEqual([{ guideline: "descriptive-labels", message: "missing labels io.k8s.description, io.openshift.tags" }]);
  });

  it("checks the form of io.openshift.expose-services only when it is there", () => {
    const labels = { ...good.config.Labels, "io.openshift.expose-services": "8080:http,http:8080,70000:big" };
    const f = checkImageGuidelines(withConfig({ Labels: labels }));
    expect(f).toHaveLength(1);
    expect(f[0]!.guideline).toBe("expose-services-format");
    expect(f[0]!.message).toContain('bad entries: "http:8080", "70000:big"');
    const { "io.openshift.expose-services": _, ...without } = good.config.Labels;
    expect(checkImageGuidelines(withConfig({ Labels: without }))).toEqual([]);
  });

  it("reports findings in a fixed order for an image that breaks them all", () => {
    const f = checkImageGuidelines({ config: { ExposedPorts: { "80/tcp": {} }, Labels: { "io.openshift.expose-services": "x" } } });
    expect(f.map((x) => x.guideline)).toEqual(["non-root-user", "unprivileged-ports", "descriptive-labels", "expose-services-format"]);
  });
});
