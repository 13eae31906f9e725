/**
 * Unit tests for OpenShift's generic webhook payload, starting from the
 * example in OpenShift's docs (test/fixtures/webhooks/generic, source in the
 * README there). Every other case is derived from it with `structuredClone`
 * plus one edit.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { normalizeGenericWebhook } from "./generic.js";

/** Webhook payloads are edited freely in derived cases. */
type Json = Record<string, any>;

const docsPayload = JSON.parse(
  readFileSync(new URL("../../../test/fixtures/webhooks/generic/openshift-docs.json", import.meta.url), "utf8"),
) as Json;

function derive(edit: (p: Json) => void): Json {
  const copy = structuredClone(docsPayload);
  edit(copy);
  return copy;
}

function thrown(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error("expected a ValidationError, nothing was thrown");
}

/** The whole `GenericWebHookEvent` shape: type, git with refs[], env, dockerStrategyOptions. */
const fullPayload = derive((p) => {
  p.type = "Git";
  p.git.refs = [
    { ref: "refs/heads/master", commit: p.git.commit },
    { ref: "refs/tags/v1.0.0", commit: "1c002dd4b536e7479fe34593e72e6c6c1819e53b" },
  ];
  p.dockerStrategyOptions = {
    buildArgs: [{ name: "HTTP_PROXY", value: "http://proxy.example.com:3128" }, { name: "EMPTY" }],
    noCache: true,
  };
});

describe("normalizeGenericWebhook", () => {
  it("accepts the OpenShift docs example and returns its fields", () => {
    const before = structuredClone(docsPayload);
    const w = normalizeGenericWebhook(docsPayload);
    expect(w.git?.uri).toBe("https://github.com/openshift/ruby-hello-world.git");
    expect(w.git?.ref).toBe("master");
    expect(w.git?.commit).toBe("9bdc3a26ff933b32f3e558636b58aea86a69f051");
    expect(w.git?.author).toEqual({ name: "Jane Doe", email: "jane.doe@example.com" });
    expect(w.git?.committer).toEqual({ name: "John Roe", email: "john.roe@example.com" });
    expect(w.git?.message).toBe("Add a health check");
    expect(w.env).toEqual([{ name: "BUILD_LOGLEVEL", value: "5" }]);
    expect(w.type).toBeUndefined();
    expect(w.dockerStrategyOptions).toBeUndefined();
    expect(w).toEqual(docsPayload);
    expect(docsPayload).toEqual(before);
  });

  it("accepts the whole shape: type, git.refs, env and dockerStrategyOptions", () => {
    const w = normalizeGenericWebhook(fullPayload);
    expect(w.type).toBe("Git");
    expect(w.git?.refs).toEqual([
      { ref: "refs/heads/master", commit: "9bdc3a26ff933b32f3e558636b58aea86a69f051" },
      { ref: "refs/tags/v1.0.0", commit: "1c002dd4b536e7479fe34593e72e6c6c1819e53b" },
    ]);
    expect(w.dockerStrategyOptions?.buildArgs).toEqual([
      { name: "HTTP_PROXY", value: "http://proxy.example.com:3128" },
      { name: "EMPTY" },
    ]);
    expect(w.dockerStrategyOptions?.noCache).toBe(true);
    expect(w).toEqual(fullPayload);
  });

  it.each([
    // [what, payload, what must come back]
    ["an empty body (build the configured ref)", {}, {}],
    ["git only", { git: { ref: "main" } }, { git: { ref: "main" } }],
    ["a 7-character short commit", derive((p) => void (p.git.commit = "9bdc3a2")), { git: { commit: "9bdc3a2" } }],
    ["an uppercase commit", derive((p) => void (p.git.commit = "9BDC3A26FF933B32F3E558636B58AEA86A69F051")), { git: { commit: "9BDC3A26FF933B32F3E558636B58AEA86A69F051" } }],
    ["a SHA-256 commit (64 hex)", derive((p) => void (p.git.commit = "a".repeat(64))), { git: { commit: "a".repeat(64) } }],
    ["an env var without value", derive((p) => void (p.env = [{ name: "DEBUG" }])), { env: [{ name: "DEBUG" }] }],
    ["an empty env", derive((p) => void (p.env = [])), { env: [] }],
    // GitBuildSource fields OpenShift accepts in `git` and in each ref pass through untouched.
    ["git proxy fields", derive((p) => void (p.git.httpsProxy = "https://proxy:3128")), { git: { httpsProxy: "https://proxy:3128" } }],
    ["a ref carrying uri and message", derive((p) => void (p.git.refs = [{ ref: "main", uri: p.git.uri, message: "m" }])), { git: { refs: [{ ref: "main", uri: "https://github.com/openshift/ruby-hello-world.git", message: "m" }] } }],
    ["noCache false alone", derive((p) => void (p.dockerStrategyOptions = { noCache: false })), { dockerStrategyOptions: { noCache: false } }],
  ])("accepts %s", (_what, payload, expected) => {
    expect(normalizeGenericWebhook(payload)).toMatchObject(expected);
  });

  it.each([
    // [what, payload, field path]
    // The docs' example taken literally: its commit is a placeholder, not a hash.
    ["the docs' placeholder commit", derive((p) => void (p.git.commit = "<commit hash identifying a specific git commit>")), "git.commit"],
    ["a branch name as commit", derive((p) => void (p.git.commit = "master")), "git.commit"],
    ["a commit of 6 hex digits", derive((p) => void (p.git.commit = "9bdc3a")), "git.commit"],
    ["a commit of 65 hex digits", derive((p) => void (p.git.commit = "a".repeat(65))), "git.commit"],
    ["a commit with a non-hex letter", derive((p) => void (p.git.commit = "9bdc3a26ff933b32f3e558636b58aea86a69f05g")), "git.commit"],
    ["a commit with surrounding space", derive((p) => void (p.git.commit = " 9bdc3a26ff933b32f3e558636b58aea86a69f051")), "git.commit"],
    ["an empty commit", derive((p) => void (p.git.commit = "")), "git.commit"],
    ["a numeric commit", derive((p) => void (p.git.commit = 1234567)), "git.commit"],
    ["env as an object", derive((p) => void (p.env = { BUILD_LOGLEVEL: "5" })), "env"],
    ["env as a string", derive((p) => void (p.env = "BUILD_LOGLEVEL=5")), "env"],
    ["an env var without name", derive((p) => delete p.env[0].name), "env.0.name"],
    ["an env var with a numeric value", derive((p) => void (p.env[0].value = 5)), "env.0.value"],
    ["git as a string", derive((p) => void (p.git = "https://github.com/openshift/ruby-hello-world.git")), "git"],
    ["git.uri as a number", derive((p) => void (p.git.uri = 1)), "git.uri"],
    ["git.author as a string", derive((p) => void (p.git.author = "Jane Doe <jane.doe@example.com>")), "git.author"],
    ["git.refs as an object", derive((p) => void (p.git.refs = { ref: "master" })), "git.refs"],
    ["dockerStrategyOptions.noCache as a string", derive((p) => void (p.dockerStrategyOptions = { noCache: "true" })), "dockerStrategyOptions.noCache"],
    ["dockerStrategyOptions.buildArgs as an object", derive((p) => void (p.dockerStrategyOptions = { buildArgs: { A: "1" } })), "dockerStrategyOptions.buildArgs"],
    ["type as a number", derive((p) => void (p.type = 1)), "type"],
    ["an array body", [docsPayload], "(root)"],
    ["a null body", null, "(root)"],
  ])("rejects %s, naming %s", (_what, payload, path) => {
    const e = thrown(() => normalizeGenericWebhook(payload));
    expect(e.code).toBe("ValidationError");
    expect(e.message.startsWith(`generic webhook payload: ${path}: `)).toBe(true);
  });

  it("says a bad commit is expected to be hex", () => {
    const e = thrown(() => normalizeGenericWebhook(derive((p) => void (p.git.commit = "master"))));
    expect(e.message).toBe("generic webhook payload: git.commit: expected a commit id (hex)");
  });
});
