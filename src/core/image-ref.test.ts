/** Unit tests for image reference parsing and normalisation (distribution/reference semantics). */
import { describe, expect, it } from "vitest";
import { ValidationError } from "./errors.js";
import {
  formatImageRef,
  normalizeImageRef,
  parseImageRef,
  repositoryKey,
  resolveImageStreamTag,
  sameImage,
  withDigest,
} from "./image-ref.js";

const D256 = `sha256:${"a".repeat(64)}`;
const D256B = `sha256:${"0123456789abcdef".repeat(4)}`;
const D512 = `sha512:${"b".repeat(128)}`;

describe("normalizeImageRef", () => {
  it.each([
    ["node", "docker.io/library/node:latest"],
    ["node:20", "docker.io/library/node:20"],
    ["node:20-alpine3.19", "docker.io/library/node:20-alpine3.19"],
    ["user/app", "docker.io/user/app:latest"],
    ["library/node", "docker.io/library/node:latest"],
    ["docker.io/node", "docker.io/library/node:latest"],
    ["docker.io/library/node:lts", "docker.io/library/node:lts"],
    ["index.docker.io/node", "docker.io/library/node:latest"],
    ["registry-1.docker.io/user/app:1", "docker.io/user/app:1"],
    ["Docker.IO/user/app", "docker.io/user/app:latest"],
    ["ghcr.io/owner/app:v1.2.3", "ghcr.io/owner/app:v1.2.3"],
    ["GHCR.io/owner/app", "ghcr.io/owner/app:latest"],
    ["quay.io/a/b/c/d:x_y", "quay.io/a/b/c/d:x_y"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/a/b:1", "localhost:5000/a/b:1"],
    ["127.0.0.1:5000/x", "127.0.0.1:5000/x:latest"],
    ["[::1]:5000/x", "[::1]:5000/x:latest"],
    ["[fe80::1]/team/x:2", "[fe80::1]/team/x:2"],
    ["registry.example.com:443/team/app", "registry.example.com:443/team/app:latest"],
    ["123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:sha-1", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:sha-1"],
    ["gcr.io/distroless/static-debian12:nonroot", "gcr.io/distroless/static-debian12:nonroot"],
    ["my_org/my__app", "docker.io/my_org/my__app:latest"],
    ["a/b-c--d.e", "docker.io/a/b-c--d.e:latest"],
    // first component without '.', ':' or localhost is a Docker Hub namespace
    ["myregistry/app", "docker.io/myregistry/app:latest"],
    ["localhost", "docker.io/library/localhost:latest"],
    ["localhost:5000", "docker.io/library/localhost:5000"],
    [`node@${D256}`, `docker.io/library/node@${D256}`],
    [`node:20@${D256}`, `docker.io/library/node:20@${D256}`],
    [`ghcr.io/o/a@${D512}`, `ghcr.io/o/a@${D512}`],
    [`localhost:5000/a:1@${D256B}`, `localhost:5000/a:1@${D256B}`],
    [`x:${"t".repeat(128)}`, `docker.io/library/x:${"t".repeat(128)}`],
  ])("%s -> %s", (input, expected) => {
    expect(normalizeImageRef(input)).toBe(expected);
  });

  it.each([
    ["", /empty/],
    [" node", /whitespace/],
    ["node :1", /whitespace/],
    ["Node", /repository "Node" must be lowercase/],
    ["ghcr.io/Owner/app", /repository "Owner\/app" must be lowercase/],
    ["user/App:1", /"user\/App:1".*must be lowercase/],
    ["node:", /tag "" must match/],
    ["node:-x", /tag "-x" must match/],
    ["node:.x", /tag ".x" must match/],
    [`node:${"t".repeat(129)}`, /tag "t+" must match/],
    ["node:a:b", /not valid/],
    [":tag", /name is empty/],
    ["/node", /empty path component/],
    ["a//b", /empty path component/],
    ["ghcr.io/", /empty path component/],
    ["node/", /empty path component/],
    ["-node", /"-node" is not valid/],
    ["node-", /"node-" is not valid/],
    ["a/b___c", /"b___c" is not valid/],
    ["exa_mple.com/a", /registry "exa_mple.com" is not a valid host/],
    ["-bad.com/a", /registry "-bad.com"/],
    ["host:port/a", /registry "host:port"/],
    ["node@", /digest "": algorithm/],
    ["node@sha256:abc", /sha256 needs 64 lowercase hex/],
    [`node@sha256:${"A".repeat(64)}`, /sha256 needs 64 lowercase hex/],
    [`node@sha256:${"a".repeat(65)}`, /sha256 needs 64/],
    [`node@sha512:${"a".repeat(64)}`, /sha512 needs 128/],
    [`node@md5:${"a".repeat(32)}`, /algorithm must be one of/],
    [`node@${D256}@${D256}`, /more than one '@'/],
    [`${"a".repeat(256)}`, /longer than 255/],
  ])("rejects %j", (input, message) => {
    const attempt = () => parseImageRef(input);
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(`invalid image reference ${JSON.stringify(input)}`);
  });
});

describe("parseImageRef", () => {
  it.each([
    ["node", { registry: "docker.io", repository: "library/node", tag: "latest" }],
    ["localhost:5000/a/b:1", { registry: "localhost:5000", repository: "a/b", tag: "1" }],
    [`node@${D256}`, { registry: "docker.io", repository: "library/node", digest: D256 }],
    [`ghcr.io/o/a:1@${D256}`, { registry: "ghcr.io", repository: "o/a", tag: "1", digest: D256 }],
  ])("%s", (input, expected) => {
    expect(parseImageRef(input)).toStrictEqual(expected);
  });
});

describe("formatImageRef", () => {
  it.each([
    [{ registry: "docker.io", repository: "library/node", tag: "20" }, "docker.io/library/node:20"],
    [{ registry: "r.io", repository: "a" }, "r.io/a"],
    [{ registry: "r.io", repository: "a", digest: D256 }, `r.io/a@${D256}`],
    [{ registry: "r.io", repository: "a", tag: "t", digest: D256 }, `r.io/a:t@${D256}`],
  ])("%j -> %s", (ref, expected) => {
    expect(formatImageRef(ref)).toBe(expected);
  });
});

describe("withDigest", () => {
  it.each([
    ["node:20", D256, `docker.io/library/node@${D256}`],
    [`ghcr.io/o/a:1@${D256}`, D256B, `ghcr.io/o/a@${D256B}`],
    [{ registry: "r.io", repository: "x", tag: "t" }, D512, `r.io/x@${D512}`],
  ])("%j @ %s", (ref, digest, expected) => {
    expect(withDigest(ref, digest)).toBe(expected);
  });

  it("rejects a bad digest", () => {
    expect(() => withDigest("node", "sha256:nothex")).toThrow(/invalid digest "sha256:nothex"/);
  });
});

describe("repositoryKey", () => {
  it.each([
    ["node:20", "docker.io/library/node"],
    [`localhost:5000/a/b:1@${D256}`, "localhost:5000/a/b"],
    [{ registry: "r.io", repository: "x", tag: "t" }, "r.io/x"],
  ])("%j -> %s", (ref, expected) => {
    expect(repositoryKey(ref)).toBe(expected);
  });
});

describe("sameImage", () => {
  it.each([
    ["node", "docker.io/library/node:latest", true],
    ["index.docker.io/library/node:20", "node:20", true],
    ["node:20", "node:22", false],
    ["node", "user/node", false],
    ["node:20", `node:20@${D256}`, true],
    [`node@${D256}`, `docker.io/library/node@${D256}`, true],
    [`node@${D256}`, `node@${D256B}`, false],
    [`node@${D256}`, "node", false],
    ["localhost:5000/a", "localhost:5001/a", false],
  ])("%s vs %s -> %s", (a, b, expected) => {
    expect(sameImage(a, b)).toBe(expected);
    expect(sameImage(b, a)).toBe(expected);
  });
});

describe("resolveImageStreamTag", () => {
  const map = {
    "openshift/nodejs:20": "registry.access.redhat.com/ubi9/nodejs-20:latest",
    "nodejs:20": "node:20",
    "nodejs:18": "node:18-alpine",
    "team/app:prod": "ghcr.io/team/app:1.4",
    "bad:1": "Not Valid",
  };

  it.each([
    ["nodejs:20", "openshift", "registry.access.redhat.com/ubi9/nodejs-20:latest"],
    ["nodejs:20", "default", "docker.io/library/node:20"],
    ["nodejs:20", "", "docker.io/library/node:20"],
    ["nodejs:18", "openshift", "docker.io/library/node:18-alpine"],
    ["app:prod", "team", "ghcr.io/team/app:1.4"],
  ])("%s in %j", (name, namespace, expected) => {
    expect(resolveImageStreamTag(name, namespace, map)).toBe(expected);
  });

  it.each([
    ["nodejs:16", "openshift", /unknown ImageStreamTag "openshift\/nodejs:16"/],
    ["app:prod", "other", /unknown ImageStreamTag "other\/app:prod"/],
    ["nodejs", "openshift", /invalid ImageStreamTag "nodejs"/],
    ["nodejs:", "openshift", /invalid ImageStreamTag "nodejs:"/],
    ["ns/nodejs:20", "openshift", /invalid ImageStreamTag "ns\/nodejs:20"/],
    ["bad:1", "x", /ImageStreamTag "bad:1" maps to an invalid image: invalid image reference "Not Valid"/],
    ["constructor:1", "x", /unknown ImageStreamTag "x\/constructor:1"/],
  ])("rejects %s in %j", (name, namespace, message) => {
    const attempt = () => resolveImageStreamTag(name, namespace, map);
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(message);
  });
});
