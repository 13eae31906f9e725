import { describe, expect, it } from "vitest";
import { imageTag, imageTagsForGitTag } from "./tags.js";

describe("imageTagsForGitTag", () => {
  it.each([
    ["v1.2.3", { semver: true, latest: false }, ["1.2.3", "1.2", "1"]],
    ["1.2.3", { semver: true, latest: true }, ["1.2.3", "1.2", "1", "latest"]],
    ["v10.0.7+build.5", { semver: true, latest: false }, ["10.0.7", "10.0", "10"]],
    ["v2.0.0-rc.1", { semver: true, latest: true }, ["2.0.0-rc.1"]],
    ["v1.2", { semver: true, latest: true }, ["v1.2"]],
    ["v01.2.3", { semver: true, latest: false }, ["v01.2.3"]],
    ["release/2026-11", { semver: true, latest: false }, ["release-2026-11"]],
    ["v1.2.3", { semver: false, latest: true }, ["v1.2.3"]],
  ])("%s with %j gives %j", (tag, policy, tags) => {
    expect(imageTagsForGitTag(tag, policy)).toEqual(tags);
  });

  it.each([
    ["ok_tag-1.0", "ok_tag-1.0"],
    [".hidden", "hidden"],
    ["a b/c", "a-b-c"],
    ["---", "tag"],
    ["x".repeat(200), "x".repeat(128)],
  ])("imageTag(%j) is %j", (input, out) => {
    expect(imageTag(input)).toBe(out);
    expect(out).toMatch(/^[\w][\w.-]{0,127}$/);
  });
});
