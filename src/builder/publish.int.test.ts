/**
 * Publishing an OCI image layout against a real Distribution registry: the
 * push by digest moves no tag, the guidelines check reads what was pushed,
 * `Enforce` keeps the tag where it was, and broken layouts fail naming what
 * is wrong.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeLayer, sha256 } from "../../test/support/push-image.js";
import { findFreePort, startRegistry, type RunningRegistry } from "../adapters/local/registry-process.js";
import { DistributionClient } from "../adapters/registry/distribution-client.js";
import { StepFailed } from "./exec.js";
import { publishLayout } from "./publish.js";

const GOOD_LABELS = { "io.k8s.description": "d", "io.k8s.display-name": "n", "io.openshift.tags": "t" };

/** Write a one-image OCI layout; returns the manifest digest. */
function writeLayout(dir: string, config: Record<string, unknown>, extra: { twoImages?: boolean; dropLayer?: boolean } = {}): string {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  const put = (bytes: Buffer) => {
    const d = sha256(bytes);
    writeFileSync(join(dir, "blobs", "sha256", d.slice(7)), bytes);
    return { digest: d, size: bytes.length };
  };
  const layer = makeLayer({ "app/hello.txt": `hello ${JSON.stringify(config)}\n` });
  const l = extra.dropLayer ? { digest: layer.digest, size: layer.blob.length } : put(layer.blob);
  const c = put(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config, rootfs: { type: "layers", diff_ids: [layer.diffId] } })));
  const m = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...c },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...l }],
      }),
    ),
  );
  const entry = { mediaType: "application/vnd.oci.image.manifest.v1+json", ...m };
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: extra.twoImages ? [entry, entry] : [entry] }));
  writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  return m.digest;
}

describe("publishLayout", () => {
  let registry: RunningRegistry;
  let client: DistributionClient;
  let work: string;
  const logs: string[] = [];
  const log = (l: string) => void logs.push(l);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cascade-publish-"));
    registry = await startRegistry({ dir: join(work, "registry"), port: await findFreePort() });
    client = new DistributionClient({ credentialsFor: () => registry.credentials });
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("pushes by digest, checks, then tags every output; the registry holds the layout's exact manifest", async () => {
    const dir = join(work, "good");
    const digest = writeLayout(dir, { User: "1001", Labels: GOOD_LABELS });
    const images = [`${registry.hostPort}/team/app:1.2.3`, `${registry.hostPort}/team/app:1.2`];
    const p = await publishLayout(dir, images, { registry: client, policy: "Enforce", log });
    expect(p).toMatchObject({ digest, tags: ["1.2.3", "1.2"], unchanged: false, check: { passed: true, findings: [] } });
    for (const ref of images) expect((await client.resolveDigest(ref)).digest).toBe(digest);
    // The same layout again: the tags already hold it.
    expect((await publishLayout(dir, images, { registry: client, policy: "Enforce", log })).unchanged).toBe(true);
  });

  it("under Enforce, leaves a failing image reachable by digest only and the tag where it was", async () => {
    const tag = `${registry.hostPort}/team/strict:latest`;
    const good = writeLayout(join(work, "strict-good"), { User: "1001", Labels: GOOD_LABELS });
    await publishLayout(join(work, "strict-good"), [tag], { registry: client, policy: "Enforce", log });
    const bad = writeLayout(join(work, "strict-bad"), { User: "0", ExposedPorts: { "443/tcp": {} }, Labels: GOOD_LABELS });
    let pushed: { digest: string } | undefined;
    const err = await publishLayout(join(work, "strict-bad"), [tag], { registry: client, policy: "Enforce", log, onPushedByDigest: (x) => (pushed = x) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).reason).toBe("ImagePolicyViolation");
    expect((err as StepFailed).message).toMatch(/non-root-user: .*; unprivileged-ports: exposed port 443\/tcp/);
    expect(pushed?.digest).toBe(bad);
    expect(await client.manifestExists(`${registry.hostPort}/team/strict@${bad}`)).toBe(true);
    expect((await client.resolveDigest(tag)).digest).toBe(good);
  });

  it("under Warn, tags a failing image and reports the findings", async () => {
    const dir = join(work, "warn");
    writeLayout(dir, { Labels: {} });
    const p = await publishLayout(dir, [`${registry.hostPort}/team/warn:latest`], { registry: client, policy: "Warn", log });
    expect(p.tags).toEqual(["latest"]);
    expect(p.check.findings.map((f) => f.guideline)).toEqual(["non-root-user", "descriptive-labels"]);
    expect(logs).toContain("warning: image guideline non-root-user: the image runs as root: it sets no USER; set a numeric non-zero USER such as 1001");
  });

  it.each([
    ["no index.json", (dir: string) => mkdirSync(dir, { recursive: true }), /index\.json is missing or not an OCI index/],
    ["two images", (dir: string) => writeLayout(dir, { User: "1" }, { twoImages: true }), /index\.json lists 2 images .*; write exactly one/],
    ["a missing layer blob", (dir: string) => writeLayout(dir, { User: "1" }, { dropLayer: true }), /blob sha256:[a-f0-9]{64} is missing from blobs\/sha256/],
  ])("refuses a layout with %s, naming the problem", async (name, make, message) => {
    const dir = join(work, `broken-${name.replace(/\W+/g, "-")}`);
    make(dir);
    const err = await publishLayout(dir, [`${registry.hostPort}/team/broken:latest`], { registry: client, policy: "Warn", log, layoutReason: "GenericBuildFailed" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).reason).toBe("GenericBuildFailed");
    expect((err as Error).message).toMatch(message);
    expect(await client.manifestExists(`${registry.hostPort}/team/broken:latest`)).toBe(false);
  });

  it("refuses to upload bytes that do not match their digest", async () => {
    await expect(client.putBlob(`${registry.hostPort}/team/x`, sha256("other"), new TextEncoder().encode("bytes"))).rejects.toThrow(/content hashes to sha256:.*, expected sha256:/);
  });
});
