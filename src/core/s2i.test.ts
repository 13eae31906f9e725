/**
 * Unit tests for the S2I Dockerfile generator. Each generated Dockerfile is
 * compared byte for byte with `__golden__/s2i/<case>.Dockerfile`; run with
 * `UPDATE_GOLDEN=1` to rewrite the golden files after an intended change.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseDockerfile } from "./dockerfile.js";
import { ValidationError } from "./errors.js";
import {
  generateS2IDockerfile,
  parseS2IEnvironment,
  parseScriptsUrl,
  readBuilderMetadata,
  type BuilderMetadata,
  type S2IDockerfileInput,
} from "./s2i.js";
import type { ImageConfig } from "../ports/registry.js";

// ---------------------------------------------------------------------------
// Golden files

const GOLDEN_DIR = fileURLToPath(new URL("./__golden__/s2i/", import.meta.url));

/** Compares `actual` with the golden file; rewrites it instead when `UPDATE_GOLDEN=1`. */
function expectGolden(name: string, actual: string): void {
  const file = `${GOLDEN_DIR}${name}.Dockerfile`;
  if (process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) throw new Error(`golden file ${file} is missing; run with UPDATE_GOLDEN=1 to create it`);
  expect(actual).toBe(readFileSync(file, "utf8"));
}

// ---------------------------------------------------------------------------
// Fixtures

const DIGEST = `sha256:${"a".repeat(64)}`;
const PREVIOUS_DIGEST = `sha256:${"b".repeat(64)}`;
const BUILDER = `registry.example.test/s2i/nodejs-20@${DIGEST}`;
const PREVIOUS = `127.0.0.1:5000/team/web@${PREVIOUS_DIGEST}`;

/** A builder image config like UBI's nodejs-20: scripts in /usr/libexec/s2i, USER 1001. */
const builderConfig = (over: { labels?: Record<string, string>; user?: string; env?: string[] } = {}): ImageConfig => ({
  architecture: "amd64",
  os: "linux",
  config: {
    User: over.user ?? "1001",
    Env: over.env ?? ["PATH=/opt/app-root/src/node_modules/.bin:/usr/local/bin:/usr/bin", "HOME=/opt/app-root/src"],
    WorkingDir: "/opt/app-root/src",
    ExposedPorts: { "8080/tcp": {} },
    Labels: over.labels ?? {
      "io.openshift.s2i.scripts-url": "image:///usr/libexec/s2i",
      "io.openshift.expose-services": "8080:http",
      "io.k8s.display-name": "Node.js 20",
    },
  },
});

const meta = (over: Parameters<typeof builderConfig>[0] = {}): BuilderMetadata => readBuilderMetadata(builderConfig(over));

const PROVENANCE: [string, string][] = [
  ["io.openshift.build.commit.id", "3f2a9c1"],
  ["io.openshift.build.commit.ref", "main"],
  ["io.openshift.build.source-location", "https://git.example.test/team/web.git"],
  ["org.opencontainers.image.revision", "3f2a9c1"],
  ["org.opencontainers.image.source", "https://git.example.test/team/web.git"],
];

const SOURCE_FILES = ["package.json", "server.js", "lib/app.js"];

const input = (over: Partial<S2IDockerfileInput> = {}): S2IDockerfileInput => ({
  builderImage: BUILDER,
  metadata: meta(),
  sourceStrategy: {},
  source: { files: SOURCE_FILES },
  labels: PROVENANCE,
  outputImage: "127.0.0.1:5000/team/web:latest",
  ...over,
});

// ---------------------------------------------------------------------------
// Helpers that read a generated Dockerfile back

/** The logical instructions: continuation lines joined, comments dropped. */
function instructions(dockerfile: string): string[] {
  const out: string[] = [];
  let current = "";
  for (const line of dockerfile.split("\n")) {
    if (current === "" && (line.startsWith("#") || line.trim() === "")) continue;
    if (line.endsWith("\\")) {
      current += line.slice(0, -1);
      continue;
    }
    out.push(current + line);
    current = "";
  }
  return out;
}

const keywords = (dockerfile: string) => instructions(dockerfile).map((i) => i.split(" ")[0]);

/** Reads the `"k"="v"` / `k="v"` pairs of an instruction back, undoing the Dockerfile's double-quote escapes. */
function pairs(instruction: string): [string, string][] {
  const word = String.raw`"((?:\\.|[^"\\])*)"`;
  const re = new RegExp(String.raw`(?:${word}|([A-Za-z_][A-Za-z0-9_]*))=${word}`, "g");
  const unquote = (s: string) => s.replace(/\\(["$\\])/g, "$1");
  return [...instruction.matchAll(re)].map((m) => [unquote(m[1] ?? m[2] ?? ""), unquote(m[3] ?? "")]);
}

// ---------------------------------------------------------------------------

describe("readBuilderMetadata", () => {
  it("reads the S2I labels, User, Env, ports and working directory", () => {
    const m = readBuilderMetadata(
      builderConfig({
        labels: {
          "io.openshift.s2i.scripts-url": "image:///usr/local/s2i",
          "io.openshift.s2i.destination": "/opt/s2i/",
          "io.openshift.s2i.assemble-user": "1002",
          "io.openshift.s2i.assemble-input-files": "/opt/app-root/src/dist; /opt/app-root/src/package.json;",
          "io.openshift.expose-services": "8080:http",
        },
      }),
    );
    expect(m).toEqual({
      scriptsUrl: "image:///usr/local/s2i",
      destination: "/opt/s2i/",
      assembleUser: "1002",
      assembleInputFiles: ["/opt/app-root/src/dist", "/opt/app-root/src/package.json"],
      exposeServices: "8080:http",
      user: "1001",
      env: [
        { name: "PATH", value: "/opt/app-root/src/node_modules/.bin:/usr/local/bin:/usr/bin" },
        { name: "HOME", value: "/opt/app-root/src" },
      ],
      exposedPorts: ["8080/tcp"],
      workingDir: "/opt/app-root/src",
    });
  });

  it("defaults the destination to /tmp and tolerates a config without labels or User", () => {
    const m = readBuilderMetadata({ config: { Labels: null, ExposedPorts: null } });
    expect(m).toMatchObject({ destination: "/tmp", user: "", env: [], exposedPorts: [], assembleInputFiles: [] });
    expect(m.scriptsUrl).toBeUndefined();
    expect(readBuilderMetadata({}).destination).toBe("/tmp");
  });

  it("falls back to the deprecated io.s2i.* labels and STI_* variables, as S2I does", () => {
    expect(readBuilderMetadata(builderConfig({ labels: { "io.s2i.scripts-url": "image:///old/s2i" } })).scriptsUrl).toBe(
      "image:///old/s2i",
    );
    const m = readBuilderMetadata(builderConfig({ labels: {}, env: ["STI_SCRIPTS_URL=image:///env/s2i", "STI_LOCATION=/opt/x"] }));
    expect(m).toMatchObject({ scriptsUrl: "image:///env/s2i", destination: "/opt/x" });
  });

  it.each([
    ["image://", "image:///usr/libexec/s2i"],
    ["file://", "file://ci/s2i"],
    ["http://", "http://scripts.example.test/s2i"],
    ["https://", "https://scripts.example.test/s2i/"],
  ])("accepts a %s scripts URL", (_, url) => {
    expect(meta({ labels: { "io.openshift.s2i.scripts-url": url } }).scriptsUrl).toBe(url);
  });

  it.each([
    ["an unknown scheme", "ftp://example.test/s2i"],
    ["no scheme", "/usr/libexec/s2i"],
    ["a shell metacharacter in the image path", "image:///usr/libexec/s2i;rm -rf /"],
    ["a space in the URL", "https://example.test/s 2i"],
    ["a query", "https://example.test/s2i?token=x"],
  ])("refuses a scripts-url label with %s, naming the label", (_, url) => {
    expect(() => meta({ labels: { "io.openshift.s2i.scripts-url": url } })).toThrow(ValidationError);
    expect(() => meta({ labels: { "io.openshift.s2i.scripts-url": url } })).toThrow(/io\.openshift\.s2i\.scripts-url/);
  });

  it.each(["tmp", "/tmp/$(id)", "/opt/app root"])("refuses the destination label %j", (destination) => {
    expect(() => meta({ labels: { "io.openshift.s2i.destination": destination } })).toThrow(
      /io\.openshift\.s2i\.destination/,
    );
  });
});

describe("parseScriptsUrl", () => {
  it("normalises image paths and strips a trailing slash from http(s) bases", () => {
    expect(parseScriptsUrl("image:///usr/libexec/s2i/", "x")).toEqual({
      scheme: "image",
      url: "image:///usr/libexec/s2i/",
      dir: "/usr/libexec/s2i",
    });
    expect(parseScriptsUrl("HTTPS://example.test/s2i/", "x")).toMatchObject({ scheme: "https", base: "HTTPS://example.test/s2i" });
  });
});

describe("parseS2IEnvironment", () => {
  it("skips comments and blanks, trims, keeps the value after the first =, and warns about bad lines", () => {
    const warnings: string[] = [];
    const env = parseS2IEnvironment(
      "# comment\n\nA=1\r\n  B = two words \nC=x=y\nnot a line\n1BAD=no\nexport D=e\nE=\n",
      warnings,
    );
    expect(env).toEqual([
      ["A", "1"],
      ["B", "two words"],
      ["C", "x=y"],
      ["E", ""],
    ]);
    expect(warnings).toEqual([
      '.s2i/environment line 6: expected NAME=VALUE, found "not a line"; line skipped',
      '.s2i/environment line 7: "1BAD" is not a valid environment variable name; line skipped',
      '.s2i/environment line 8: "export D" is not a valid environment variable name; line skipped',
    ]);
  });
});

describe("generateS2IDockerfile golden files", () => {
  it("plain: image label scripts, source copied as 1001:0 into /tmp/src", () => {
    const r = generateS2IDockerfile(input());
    expectGolden("plain", r.dockerfile);
    expect(r.warnings).toEqual([]);
    const info = parseDockerfile(r.dockerfile);
    expect(info.stages).toHaveLength(1);
    expect(info.externalBases).toEqual([BUILDER]);
  });

  it("source-scripts: .s2i/bin/assemble and run are copied in and win over the image's", () => {
    const r = generateS2IDockerfile(
      input({ source: { files: [...SOURCE_FILES, ".s2i/bin/assemble", ".s2i/bin/run", ".s2i/bin/common.sh"] } }),
    );
    expectGolden("source-scripts", r.dockerfile);
    expect(r.dockerfile).toContain("COPY --chown=1001:0 .s2i/bin/ /tmp/scripts\n");
    expect(r.dockerfile).toContain('CMD ["/tmp/scripts/run"]\n');
  });

  it("source-scripts-partial: only assemble in .s2i/bin, run from the image label", () => {
    const r = generateS2IDockerfile(input({ source: { files: [...SOURCE_FILES, "./.s2i/bin/assemble"] } }));
    expectGolden("source-scripts-partial", r.dockerfile);
    expect(r.dockerfile).toContain('RUN ["/tmp/scripts/assemble"]\n');
    expect(r.dockerfile).toContain('CMD ["/usr/libexec/s2i/run"]\n');
  });

  it("strategy-scripts-image: sourceStrategy.scripts image:// wins over .s2i/bin and the label", () => {
    const r = generateS2IDockerfile(
      input({
        sourceStrategy: { scripts: "image:///opt/custom/s2i" },
        source: { files: [...SOURCE_FILES, ".s2i/bin/assemble"] },
      }),
    );
    expectGolden("strategy-scripts-image", r.dockerfile);
    expect(r.dockerfile).not.toContain(".s2i/bin");
  });

  it("strategy-scripts-https: scripts are fetched by ADD at build time, with a warning", () => {
    const r = generateS2IDockerfile(input({ sourceStrategy: { scripts: "https://scripts.example.test/s2i/" } }));
    expectGolden("strategy-scripts-https", r.dockerfile);
    expect(r.warnings).toEqual([
      "assemble, run will be fetched at build time from https://scripts.example.test/s2i/; a script missing there fails the build (S2I would fall back to the builder's)",
    ]);
  });

  it("strategy-scripts-file: a directory of the source; scripts it lacks fall through to .s2i/bin", () => {
    const r = generateS2IDockerfile(
      input({
        sourceStrategy: { scripts: "file://ci/s2i" },
        source: { files: [...SOURCE_FILES, "ci/s2i/assemble", ".s2i/bin/run"] },
      }),
    );
    expectGolden("strategy-scripts-file", r.dockerfile);
  });

  it("label-scripts: the builder's scripts-url label names another directory", () => {
    const r = generateS2IDockerfile(input({ metadata: meta({ labels: { "io.openshift.s2i.scripts-url": "image:///usr/local/s2i" } }) }));
    expectGolden("label-scripts", r.dockerfile);
    expect(r.dockerfile).toContain('RUN ["/usr/local/s2i/assemble"]\n');
  });

  it("default-scripts: no label, so /usr/libexec/s2i, with a warning", () => {
    const r = generateS2IDockerfile(input({ metadata: meta({ labels: {} }) }));
    expectGolden("default-scripts", r.dockerfile);
    expect(r.warnings).toEqual([
      "builder image has no io.openshift.s2i.scripts-url label: scripts not found elsewhere are expected in /usr/libexec/s2i",
    ]);
  });

  it("assemble-user: the label wins over the image's User (here root)", () => {
    const r = generateS2IDockerfile(
      input({
        metadata: meta({
          user: "root",
          labels: { "io.openshift.s2i.scripts-url": "image:///usr/libexec/s2i", "io.openshift.s2i.assemble-user": "1002" },
        }),
      }),
    );
    expectGolden("assemble-user", r.dockerfile);
    expect(r.dockerfile).toContain("COPY --chown=1002:0 . /tmp/src\nUSER 1002\n");
  });

  it("image-user-with-group: a numeric uid:gid User is kept for USER; files go to group 0", () => {
    const r = generateS2IDockerfile(input({ metadata: meta({ user: "01001:1001" }) }));
    expectGolden("image-user-with-group", r.dockerfile);
    expect(r.dockerfile).toContain("COPY --chown=1001:0 . /tmp/src\nUSER 1001:1001\n");
  });

  it("destination: scripts, source and artifacts go under the destination label", () => {
    const r = generateS2IDockerfile(
      input({
        metadata: meta({
          labels: { "io.openshift.s2i.scripts-url": "image:///usr/libexec/s2i", "io.openshift.s2i.destination": "/opt/s2i/" },
        }),
        source: { files: [...SOURCE_FILES, ".s2i/bin/assemble"] },
      }),
    );
    expectGolden("destination", r.dockerfile);
    expect(r.dockerfile).toContain("COPY --chown=1001:0 .s2i/bin/ /opt/s2i/scripts\n");
    expect(r.dockerfile).toContain("COPY --chown=1001:0 . /opt/s2i/src\n");
  });

  it("environment: .s2i/environment then the BuildConfig env, which wins", () => {
    const r = generateS2IDockerfile(
      input({
        source: {
          files: [...SOURCE_FILES, ".s2i/environment"],
          environmentFile: "# build settings\nNPM_RUN=build\nNODE_ENV=development\n\nbroken line\nPORT=8080\n",
        },
        sourceStrategy: {
          env: [
            { name: "NODE_ENV", value: "production" },
            { name: "NPM_MIRROR", value: "https://npm.example.test/" },
            { name: "EMPTY" },
          ],
        },
      }),
    );
    expectGolden("environment", r.dockerfile);
    expect(pairs(instructions(r.dockerfile).find((i) => i.startsWith("ENV ")) ?? "")).toEqual([
      ["NPM_RUN", "build"],
      ["NODE_ENV", "production"],
      ["PORT", "8080"],
      ["NPM_MIRROR", "https://npm.example.test/"],
      ["EMPTY", ""],
    ]);
    expect(r.warnings).toEqual(['.s2i/environment line 5: expected NAME=VALUE, found "broken line"; line skipped']);
  });

  it("incremental: a cached stage runs save-artifacts; the tar is unpacked into <destination>/artifacts", () => {
    const r = generateS2IDockerfile(input({ sourceStrategy: { incremental: true }, previousImage: PREVIOUS }));
    expectGolden("incremental", r.dockerfile);
    expect(r.warnings).toEqual([]);
    const info = parseDockerfile(r.dockerfile);
    expect(info.stages.map((s) => [s.name, s.from])).toEqual([
      ["cached", PREVIOUS],
      [undefined, BUILDER],
    ]);
    expect(r.dockerfile).toContain(
      "RUN if [ -s /usr/libexec/s2i/save-artifacts ]; then /usr/libexec/s2i/save-artifacts > /tmp/artifacts.tar; else touch /tmp/artifacts.tar; fi\n",
    );
    // Bind-mounted from the cached stage, never copied: the tar is in no layer of the image.
    expect(r.dockerfile).not.toContain("COPY --from=cached");
    expect(r.dockerfile).toContain("RUN --mount=type=bind,from=cached,source=/tmp/artifacts.tar,target=/tmp/artifacts.tar \\\n");
    expect(r.dockerfile).toContain("exec /usr/libexec/s2i/assemble\n");
  });

  it("incremental-source-save-artifacts: save-artifacts from .s2i/bin is copied into the cached stage", () => {
    const r = generateS2IDockerfile(
      input({
        sourceStrategy: { incremental: true },
        previousImage: PREVIOUS,
        metadata: meta({
          labels: { "io.openshift.s2i.scripts-url": "image:///usr/libexec/s2i", "io.openshift.s2i.destination": "/opt/s2i" },
        }),
        source: { files: [...SOURCE_FILES, ".s2i/bin/save-artifacts", ".s2i/bin/assemble"] },
      }),
    );
    expectGolden("incremental-source-save-artifacts", r.dockerfile);
  });

  it("incremental-no-previous: without a previous image, a normal build and a warning", () => {
    const r = generateS2IDockerfile(input({ sourceStrategy: { incremental: true } }));
    expectGolden("incremental-no-previous", r.dockerfile);
    expect(r.dockerfile).toBe(generateS2IDockerfile(input()).dockerfile);
    expect(r.warnings).toEqual([
      "incremental build requested but there is no previous image yet: building without saved artifacts",
    ]);
  });

  it("injection: values cannot end the instruction, expand a variable or add one", () => {
    const evil = 'x"\nRUN rm -rf /\n';
    const values = {
      NEWLINE: "a\nRUN rm -rf /",
      QUOTE: 'say "hi" \\" done',
      BACKSLASH: "C:\\path\\ \\",
      DOLLAR: "$HOME ${PATH} $(id)",
      CONTINUATION: "ends with a backslash \\",
      CONTROL: "bell\u0007 cr\r tab\t",
    };
    const r = generateS2IDockerfile(
      input({
        sourceStrategy: { env: Object.entries(values).map(([name, value]) => ({ name, value })) },
        source: { files: [...SOURCE_FILES, ".s2i/environment"], environmentFile: `FROM_FILE=${evil.trim()}\n` },
        labels: [...PROVENANCE, ["io.openshift.build.commit.message", evil], [`evil"key\nRUN id`, "v"]],
      }),
    );
    expectGolden("injection", r.dockerfile);

    // Same instructions as a clean build: nothing was added.
    expect(keywords(r.dockerfile)).toEqual(["FROM", "ENV", "COPY", "USER", "RUN", "CMD", "LABEL"]);
    expect(r.dockerfile.split("\n").filter((l) => /^\s*RUN rm/.test(l))).toEqual([]);
    expect(parseDockerfile(r.dockerfile).stages).toHaveLength(1);

    // Values read back as written, except that newlines and control characters became visible escapes.
    const visible = (s: string) => s.replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\u0007/g, "\\u0007");
    const all = instructions(r.dockerfile);
    const env = new Map(pairs(all.find((i) => i.startsWith("ENV ")) ?? ""));
    for (const [k, v] of Object.entries(values)) expect(env.get(k)).toBe(visible(v));
    const labels = new Map(pairs(all.find((i) => i.startsWith("LABEL ")) ?? ""));
    expect(labels.get("io.openshift.build.commit.message")).toBe(visible(evil));
    expect(labels.get(visible(`evil"key\nRUN id`))).toBe("v");
    expect(r.warnings).toEqual([
      '.s2i/environment line 2: expected NAME=VALUE, found "RUN rm -rf /"; line skipped',
      "environment variable NEWLINE has newlines or control characters; they are written as escapes",
      "environment variable CONTROL has newlines or control characters; they are written as escapes",
      'label name "evil\\"key\\nRUN id" has control characters; they are written as escapes',
      'label "io.openshift.build.commit.message" has newlines or control characters; they are written as escapes',
    ]);
  });
});

describe("generateS2IDockerfile refusals", () => {
  it.each([
    ["", /sets no User and no io\.openshift\.s2i\.assemble-user label, so it would assemble as root/],
    ["root", /would assemble as root \(its User is "root"\)/],
    ["0", /would assemble as root \(its User is "0"\)/],
    ["0:0", /would assemble as root \(its User is "0:0"\)/],
    ["000", /would assemble as root/],
    ["root:0", /would assemble as root/],
    ["default", /would assemble as user "default" \(its User\), which is not a numeric uid\[:gid\]/],
    ["1001:root", /"1001:root" \(its User\), which is not a numeric/],
    ["4294967296", /out of the uid range/],
  ])("refuses a builder whose User is %j and that has no assemble-user label", (user, message) => {
    const run = () => generateS2IDockerfile(input({ metadata: meta({ user }) }));
    expect(run).toThrow(ValidationError);
    expect(run).toThrow(message);
    expect(run).toThrow(BUILDER);
  });

  it.each(["0", "root", "default"])("refuses an assemble-user label %j, naming the label", (assembleUser) => {
    const run = () =>
      generateS2IDockerfile(
        input({ metadata: meta({ labels: { "io.openshift.s2i.assemble-user": assembleUser } }) }),
      );
    expect(run).toThrow(ValidationError);
    expect(run).toThrow(`its io.openshift.s2i.assemble-user label`);
  });

  it.each(["1BAD", "A-B", "A B", "A\nRUN id", ""])("refuses the BuildConfig env name %j, naming it", (name) => {
    const run = () => generateS2IDockerfile(input({ sourceStrategy: { env: [{ name, value: "x" }] } }));
    expect(run).toThrow(ValidationError);
    expect(run).toThrow(`${JSON.stringify(name)} is not a valid environment variable name`);
  });

  it("refuses plain http scripts unless the caller allows the scheme", () => {
    const strategy = { scripts: "http://scripts.example.test/s2i" };
    expect(() => generateS2IDockerfile(input({ sourceStrategy: strategy }))).toThrow(
      /sourceStrategy\.scripts "http:\/\/scripts\.example\.test\/s2i" uses the http:\/\/ scheme, which is not allowed here/,
    );
    const r = generateS2IDockerfile(input({ sourceStrategy: strategy, allowedScriptsUrlSchemes: ["image", "http"] }));
    expect(r.dockerfile).toContain("ADD --chown=1001:0 http://scripts.example.test/s2i/assemble /tmp/scripts/assemble\n");
  });

  it("applies the allowed schemes to the builder's label too, but only when the label is used", () => {
    const https = meta({ labels: { "io.openshift.s2i.scripts-url": "https://scripts.example.test/s2i" } });
    expect(() => generateS2IDockerfile(input({ metadata: https, allowedScriptsUrlSchemes: ["image"] }))).toThrow(
      /builder label io\.openshift\.s2i\.scripts-url .* https:\/\/ scheme/,
    );
    const all = [...SOURCE_FILES, ".s2i/bin/assemble", ".s2i/bin/run"];
    expect(() =>
      generateS2IDockerfile(input({ metadata: https, allowedScriptsUrlSchemes: ["image"], source: { files: all } })),
    ).not.toThrow();
  });

  it("refuses a file:// scripts URL on the builder label, and file:// outside the source", () => {
    expect(() =>
      generateS2IDockerfile(input({ metadata: meta({ labels: { "io.openshift.s2i.scripts-url": "file:///opt/s2i" } }) })),
    ).toThrow(/names a path on the machine that runs S2I/);
    expect(() => generateS2IDockerfile(input({ sourceStrategy: { scripts: "file:///etc/s2i" } }))).toThrow(
      /outside the build context/,
    );
    expect(() =>
      generateS2IDockerfile(input({ sourceStrategy: { scripts: "file://../s2i" }, source: { files: ["../s2i/run"] } })),
    ).toThrow(/leaves the build context/);
    expect(() => generateS2IDockerfile(input({ sourceStrategy: { scripts: "file://ci/s2i" } }))).toThrow(
      /the source has none of ci\/s2i\/assemble/,
    );
  });

  it("refuses builder and previous image references that are not references", () => {
    expect(() => generateS2IDockerfile(input({ builderImage: "node:20\nRUN id" }))).toThrow(ValidationError);
    expect(() =>
      generateS2IDockerfile(input({ sourceStrategy: { incremental: true }, previousImage: "web AS x\nRUN id" })),
    ).toThrow(ValidationError);
  });

  it("refuses malformed input with a ValidationError naming the field", () => {
    const bad = { ...input(), labels: [["only-a-key"]] } as unknown as S2IDockerfileInput;
    expect(() => generateS2IDockerfile(bad)).toThrow(/invalid S2I build input: labels\.0/);
    expect(() => generateS2IDockerfile(input({ labels: [[" ", "v"]] }))).toThrow(/label name " " is empty/);
    expect(() => generateS2IDockerfile(input({ labels: [["a=b", "v"]] }))).toThrow(/label name "a=b" contains "="/);
  });
});

describe("generateS2IDockerfile determinism", () => {
  it("gives identical bytes for the same input", () => {
    const make = () =>
      input({
        sourceStrategy: { incremental: true, env: [{ name: "A", value: "1" }] },
        previousImage: PREVIOUS,
        source: { files: [...SOURCE_FILES, ".s2i/bin/assemble"], environmentFile: "B=2\n" },
      });
    const a = generateS2IDockerfile(make());
    const b = generateS2IDockerfile(make());
    expect(b.dockerfile).toBe(a.dockerfile);
    expect(b.warnings).toEqual(a.warnings);
  });

  it("sorts labels by key whatever their input order, and whatever the file listing order", () => {
    const forward = generateS2IDockerfile(input({ source: { files: [...SOURCE_FILES, ".s2i/bin/run"] } }));
    const reversed = generateS2IDockerfile(
      input({ labels: [...PROVENANCE].reverse(), source: { files: [".s2i/bin/run", ...SOURCE_FILES].reverse() } }),
    );
    expect(reversed.dockerfile).toBe(forward.dockerfile);
    const keys = pairs(instructions(forward.dockerfile).find((i) => i.startsWith("LABEL ")) ?? "").map(([k]) => k);
    expect(keys).toEqual([...keys].sort());
  });

  it("lets the provenance labels override S2I's own", () => {
    const r = generateS2IDockerfile(input({ labels: [...PROVENANCE, ["io.k8s.display-name", "web"]] }));
    const labels = new Map(pairs(instructions(r.dockerfile).find((i) => i.startsWith("LABEL ")) ?? ""));
    expect(labels.get("io.k8s.display-name")).toBe("web");
    expect(labels.get("io.openshift.s2i.scripts-url")).toBe("image:///usr/libexec/s2i");
    expect(labels.get("io.openshift.build.image")).toBe(BUILDER);
  });

  it("warns when the builder image is not pinned by digest", () => {
    const r = generateS2IDockerfile(input({ builderImage: "registry.example.test/s2i/nodejs-20:latest" }));
    expect(r.warnings).toEqual([
      'builder image "registry.example.test/s2i/nodejs-20:latest" is not pinned by digest; the build is not reproducible',
    ]);
  });
});
