import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryError } from "../../core/errors.js";
import { pushImage, pushIndex, sha256, type PushedImage, type PushedManifest } from "../../../test/support/push-image.js";
import { findFreePort, startRegistry, type RunningRegistry } from "../local/registry-process.js";
import { DistributionClient } from "./distribution-client.js";

describe("DistributionClient against a real Distribution registry", () => {
  let dir: string;
  let registry: RunningRegistry;
  let client: DistributionClient;
  let docker: PushedImage;
  let oci: PushedImage;
  let index: PushedManifest & { images: PushedImage[] };
  let list: PushedManifest & { images: PushedImage[] };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cascade-distribution-"));
    registry = await startRegistry({ dir, port: await findFreePort() });
    client = new DistributionClient({
      credentialsFor: (host) => (host === registry.hostPort ? registry.credentials : undefined),
    });
    docker = await pushImage(registry, {
      repository: "team/docker-app",
      tag: "v1",
      format: "docker",
      containerConfig: { Labels: { "org.example.kind": "docker" }, Cmd: ["/bin/app"] },
    });
    oci = await pushImage(registry, {
      repository: "team/oci-app",
      tag: "v1",
      format: "oci",
      containerConfig: { Labels: { "org.example.kind": "oci" } },
      annotations: { "org.opencontainers.image.base.name": "scratch" },
    });
    const platforms = [
      { os: "linux", architecture: "amd64", containerConfig: { Env: ["ARCH=amd64"] } },
      { os: "linux", architecture: "arm64", variant: "v8", containerConfig: { Env: ["ARCH=arm64"] } },
    ];
    index = await pushIndex(registry, { repository: "team/multi", tag: "v1", format: "oci", platforms });
    list = await pushIndex(registry, { repository: "team/multi-docker", tag: "v1", format: "docker", platforms });
  });

  afterAll(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses anonymous clients and accepts the generated login", async () => {
    expect((await fetch(`${registry.url}/v2/`)).status).toBe(401);
    const auth = Buffer.from(`${registry.credentials.username}:${registry.credentials.password}`).toString("base64");
    expect((await fetch(`${registry.url}/v2/`, { headers: { authorization: `Basic ${auth}` } })).status).toBe(200);
  });

  it("resolves a tag to the digest of the uploaded manifest bytes", async () => {
    expect(docker.digest).toBe(sha256(docker.bytes));
    expect(await client.resolveDigest(`${registry.hostPort}/team/docker-app:v1`)).toEqual({
      digest: docker.digest,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    });
    expect(await client.resolveDigest(`${registry.hostPort}/team/oci-app:v1`)).toEqual({
      digest: oci.digest,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
    });
    expect(await client.resolveDigest(`${registry.hostPort}/team/multi:v1`)).toEqual({
      digest: index.digest,
      mediaType: "application/vnd.oci.image.index.v1+json",
    });
    expect((await client.resolveDigest(`${registry.hostPort}/team/multi-docker:v1`)).digest).toBe(list.digest);
  });

  it("returns manifests as served, with their digests", async () => {
    const image = await client.getManifest(`${registry.hostPort}/team/oci-app:v1`);
    expect(image).toMatchObject({
      kind: "image",
      digest: oci.digest,
      config: { digest: oci.configDigest, mediaType: "application/vnd.oci.image.config.v1+json" },
      layers: [{ digest: oci.layers[0]!.digest, size: oci.layers[0]!.size }],
      annotations: { "org.opencontainers.image.base.name": "scratch" },
    });
    expect(image.raw).toBe(oci.bytes.toString());

    const idx = await client.getManifest(`${registry.hostPort}/team/multi:v1`);
    expect(idx.kind).toBe("index");
    if (idx.kind !== "index") return;
    expect(idx.manifests.map((m) => [m.digest, m.platform])).toEqual([
      [index.images[0]!.digest, { os: "linux", architecture: "amd64" }],
      [index.images[1]!.digest, { os: "linux", architecture: "arm64", variant: "v8" }],
    ]);
  });

  it("reads the image config of a single-platform image", async () => {
    expect(await client.getImageConfig(`${registry.hostPort}/team/docker-app:v1`)).toEqual(docker.config);
    const byDigest = await client.getImageConfig(`${registry.hostPort}/team/oci-app@${oci.digest}`);
    expect(byDigest.config?.Labels).toEqual({ "org.example.kind": "oci" });
  });

  it("picks linux/amd64 from an index by default, or the requested platform", async () => {
    for (const ref of [`${registry.hostPort}/team/multi:v1`, `${registry.hostPort}/team/multi-docker:v1`]) {
      const amd64 = await client.getImageConfig(ref);
      expect(amd64.architecture).toBe("amd64");
      expect(amd64.config?.Env).toContain("ARCH=amd64");
      const arm64 = await client.getImageConfig(ref, { os: "linux", architecture: "arm64" });
      expect(arm64).toEqual(ref.includes("docker") ? list.images[1]!.config : index.images[1]!.config);
      expect(arm64.config?.Env).toContain("ARCH=arm64");
    }
    await expect(
      client.getImageConfig(`${registry.hostPort}/team/multi:v1`, { os: "linux", architecture: "s390x" }),
    ).rejects.toThrow(/no linux\/s390x image in .*team\/multi:v1 \(available: linux\/amd64, linux\/arm64\/v8\)/);
  });

  it("says whether a manifest exists", async () => {
    expect(await client.manifestExists(`${registry.hostPort}/team/oci-app:v1`)).toBe(true);
    expect(await client.manifestExists(`${registry.hostPort}/team/oci-app@${oci.digest}`)).toBe(true);
    expect(await client.manifestExists(`${registry.hostPort}/team/oci-app:nope`)).toBe(false);
    expect(await client.manifestExists(`${registry.hostPort}/team/never-pushed:v1`)).toBe(false);
  });

  it("fails with a non-temporary 'manifest unknown' naming a missing tag", async () => {
    const ref = `${registry.hostPort}/team/oci-app:missing`;
    for (const call of [() => client.resolveDigest(ref), () => client.getManifest(ref), () => client.getImageConfig(ref)]) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RegistryError);
      expect(err).toMatchObject({ status: 404, temporary: false });
      expect((err as Error).message).toMatch(new RegExp(`^manifest unknown: ${ref.replace(/[.]/g, "\\.")} \\(HTTP 404\\)`));
    }
  });

  it("fails with a non-temporary unauthorized error for wrong or missing credentials", async () => {
    const ref = `${registry.hostPort}/team/oci-app:v1`;
    const wrong = new DistributionClient({ credentialsFor: () => ({ username: "cascade", password: "wrong" }) });
    const err = await wrong.resolveDigest(ref).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ status: 401, temporary: false });
    expect((err as Error).message).toMatch(new RegExp(`^unauthorized: ${ref.replace(/[.]/g, "\\.")} \\(HTTP 401\\)`));

    await expect(new DistributionClient().getManifest(ref)).rejects.toThrow(/^unauthorized: .*none is configured/);
  });
});
