/**
 * The ECR adapter against a fake ECR client, with responses shaped as the
 * ECR API Reference documents them (GetAuthorizationToken, DescribeImages,
 * BatchGetImage). ECR hosts here end in a placeholder domain: the adapter
 * takes the partition's domain from the deployment and names none itself.
 */
import { describe, expect, it } from "vitest";
import { RegistryError } from "../../core/errors.js";
import type { Registry } from "../../ports/registry.js";
import { fakeClient, rejection, sdkError } from "../../../test/support/aws-fakes.js";
import { EcrAuth, ecrHost, EcrRegistry, parseEcrHost } from "./ecr.js";

const HOST = ecrHost("012345678910", "us-east-1", "example.test");
const DIGEST = `sha256:${"a".repeat(64)}`;

describe("ECR hosts", () => {
  it("names and parses an account's registry host", () => {
    expect(HOST).toBe("012345678910.dkr.ecr.us-east-1.example.test");
    expect(parseEcrHost(HOST)).toEqual({ account: "012345678910", region: "us-east-1", fips: false, suffix: "example.test" });
    expect(parseEcrHost("012345678910.dkr.ecr-fips.us-gov-west-1.example.test")?.fips).toBe(true);
    expect(parseEcrHost("registry.example.test")).toBeUndefined();
    expect(parseEcrHost("12345.dkr.ecr.us-east-1.example.test")).toBeUndefined();
  });
});

describe("EcrAuth", () => {
  it("decodes the token into credentials for the proxy endpoint's host, and caches it until near expiry", async () => {
    let now = Date.parse("2026-11-25T10:00:00Z");
    const ecr = fakeClient({
      GetAuthorizationTokenCommand: (_i, n) => ({
        authorizationData: [
          {
            authorizationToken: Buffer.from(`AWS:token-${n}`).toString("base64"),
            expiresAt: new Date(now + 12 * 3600_000),
            proxyEndpoint: `https://${HOST}`,
          },
        ],
      }),
    });
    const auth = new EcrAuth({ client: ecr, now: () => now });
    expect(await auth.credentials()).toEqual({ [HOST]: { username: "AWS", password: "token-1" } });
    now += 11 * 3600_000;
    expect((await auth.credentials())[HOST]!.password).toBe("token-1");
    now += 56 * 60_000; // four minutes before expiry: refreshed
    expect((await auth.credentials())[HOST]!.password).toBe("token-2");
    expect(ecr.calls.length).toBe(2);
  });

  it("fails with a RegistryError that says whether to retry", async () => {
    const throttled = new EcrAuth({ client: fakeClient({ GetAuthorizationTokenCommand: () => { throw sdkError("ThrottlingException", "Rate exceeded"); } }) });
    const e = await rejection<RegistryError>(throttled.credentials());
    expect(e).toBeInstanceOf(RegistryError);
    expect(e.temporary).toBe(true);
    expect(e.message).toBe("ECR GetAuthorizationToken: ThrottlingException: Rate exceeded");
    const empty = new EcrAuth({ client: fakeClient({ GetAuthorizationTokenCommand: () => ({ authorizationData: [] }) }) });
    await expect(empty.credentials()).rejects.toThrow(/no authorization data/);
  });
});

describe("EcrRegistry", () => {
  const fallback: Registry & { asked: string[] } = {
    asked: [],
    async resolveDigest(ref) {
      this.asked.push(ref);
      return { digest: `sha256:${"b".repeat(64)}`, mediaType: "application/vnd.oci.image.index.v1+json" };
    },
    async getManifest() {
      throw new Error("not used");
    },
    async getImageConfig(ref) {
      this.asked.push(ref);
      return { config: { User: "1001" } };
    },
    async manifestExists() {
      return true;
    },
  };

  it("resolves ECR references with DescribeImages and hands others to the fallback", async () => {
    const ecr = fakeClient({
      DescribeImagesCommand: () => ({
        imageDetails: [{ registryId: "012345678910", repositoryName: "team/base", imageDigest: DIGEST, imageTags: ["1.2"], imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json" }],
      }),
    });
    const reg = new EcrRegistry({ client: ecr, fallback });
    expect(await reg.resolveDigest(`${HOST}/team/base:1.2`)).toEqual({ digest: DIGEST, mediaType: "application/vnd.oci.image.manifest.v1+json" });
    expect(ecr.inputs("DescribeImagesCommand")).toEqual([{ registryId: "012345678910", repositoryName: "team/base", imageIds: [{ imageTag: "1.2" }] }]);
    await reg.resolveDigest(`${HOST}/team/base@${DIGEST}`);
    expect(ecr.inputs("DescribeImagesCommand")[1].imageIds).toEqual([{ imageDigest: DIGEST }]);
    expect((await reg.resolveDigest("registry.example.test/library/node:22")).digest).toBe(`sha256:${"b".repeat(64)}`);
    expect(fallback.asked).toEqual(["registry.example.test/library/node:22"]);
    expect(await reg.getImageConfig(`${HOST}/team/base:1.2`)).toEqual({ config: { User: "1001" } });
  });

  it("reports a missing image as a permanent 404 and throttling as temporary", async () => {
    const ecr = fakeClient({
      DescribeImagesCommand: (_i, n) => {
        if (n === 1) throw sdkError("ImageNotFoundException", "The image with imageId {imageTag:'nope'} does not exist");
        if (n === 2) throw sdkError("RepositoryNotFoundException", "The repository with name 'gone' does not exist");
        throw sdkError("ThrottlingException", "Rate exceeded");
      },
    });
    const reg = new EcrRegistry({ client: ecr, fallback });
    const nf = await rejection<RegistryError>(reg.resolveDigest(`${HOST}/team/base:nope`));
    expect([nf.status, nf.temporary]).toEqual([404, false]);
    expect(nf.message).toMatch(/^ECR DescribeImages for ".*team\/base:nope": ImageNotFoundException/);
    expect(await reg.manifestExists(`${HOST}/gone:latest`)).toBe(false);
    const t = await rejection<RegistryError>(reg.resolveDigest(`${HOST}/team/base:1`));
    expect(t.temporary).toBe(true);
  });

  it("reads a manifest with BatchGetImage", async () => {
    const manifest = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"c".repeat(64)}`, size: 100 },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${"d".repeat(64)}`, size: 2000 }],
    };
    const ecr = fakeClient({
      BatchGetImageCommand: (i, n) =>
        n === 1
          ? { images: [{ imageId: { imageDigest: DIGEST, imageTag: "1.2" }, imageManifest: JSON.stringify(manifest), imageManifestMediaType: manifest.mediaType }], failures: [] }
          : { images: [], failures: [{ imageId: i.imageIds[0], failureCode: "ImageNotFound", failureReason: "Requested image not found" }] },
    });
    const reg = new EcrRegistry({ client: ecr, fallback });
    const m = await reg.getManifest(`${HOST}/team/base:1.2`);
    expect(m).toMatchObject({ kind: "image", digest: DIGEST, config: manifest.config, layers: manifest.layers });
    expect(ecr.inputs("BatchGetImageCommand")[0].acceptedMediaTypes).toContain("application/vnd.oci.image.index.v1+json");
    const e = await rejection<RegistryError>(reg.getManifest(`${HOST}/team/base:9`));
    expect([e.status, e.message]).toEqual([404, expect.stringContaining("ImageNotFound: Requested image not found")]);
  });
});
