import { describe, expect, it } from "vitest";
import { authJson, registriesConf } from "./containers-config.js";

describe("containers config files", () => {
  it.each([
    [{ "127.0.0.1:5000": { username: "u", password: "p:w" } }, { auths: { "127.0.0.1:5000": { auth: Buffer.from("u:p:w").toString("base64") } } }],
    [{ "registry.example.test": { token: "tok" } }, { auths: { "registry.example.test": { identitytoken: "tok" } } }],
    [{}, { auths: {} }],
  ])("auth.json for %j", (input, expected) => {
    expect(JSON.parse(authJson(input))).toEqual(expected);
  });

  it("marks only the named hosts insecure, and searches no short names", () => {
    const conf = registriesConf(["127.0.0.1:5000", "localhost:5000"]);
    expect(conf).toContain("unqualified-search-registries = []");
    expect(conf.match(/insecure = true/g)).toHaveLength(2);
    expect(conf).toContain('location = "localhost:5000"');
    expect(registriesConf([])).not.toContain("[[registry]]");
  });
});
