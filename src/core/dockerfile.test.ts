/** Unit tests for Dockerfile stage parsing, global ARG substitution in FROM, and FROM rewriting. */
import { describe, expect, it } from "vitest";
import { appendLabels, lastStageIndex, parseDockerfile, rewriteFrom, secretMounts, type Stage } from "./dockerfile.js";
import { ValidationError } from "./errors.js";

/** Joins lines into a Dockerfile with a trailing newline. */
const df = (...lines: string[]): string => `${lines.join("\n")}\n`;

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

const GO_DISTROLESS = df(
  "# syntax=docker/dockerfile:1.7",
  "ARG GO_VERSION=1.22",
  "",
  "FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS build",
  "WORKDIR /src",
  "COPY go.mod go.sum ./",
  "RUN --mount=type=cache,target=/go/pkg/mod \\",
  "    go mod download",
  "COPY . .",
  "ARG TARGETOS TARGETARCH",
  "RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app",
  "",
  "FROM gcr.io/distroless/static-debian12:nonroot",
  "COPY --from=build /out/app /app",
  "USER nonroot:nonroot",
  'ENTRYPOINT ["/app"]',
);

const NODE_MULTI = df(
  "ARG NODE_VERSION=20",
  "ARG REGISTRY",
  "FROM ${REGISTRY:-docker.io}/library/node:${NODE_VERSION}-bookworm-slim AS deps",
  "WORKDIR /app",
  "COPY package.json package-lock.json ./",
  "RUN npm ci",
  "",
  "from deps as Build",
  "COPY . .",
  "RUN npm run build",
  "",
  "FROM node:${NODE_VERSION}-bookworm-slim",
  "COPY --from=build /app/dist /app/dist",
  'CMD ["node", "/app/dist/server.js"]',
);

const WINDOWS = df(
  "# escape=`",
  "FROM mcr.microsoft.com/windows/servercore:ltsc2022 `",
  "    AS base",
  "COPY . C:\\app\\",
  "RUN powershell -Command `",
  "    # a comment inside the continuation",
  "    Write-Host hello",
  "FROM base",
  'ENTRYPOINT ["C:\\\\app\\\\run.exe"]',
);

const CONTINUED_FROM = df(
  "FROM --platform=$BUILDPLATFORM \\",
  "    # the build toolchain",
  "",
  "    rust:1.79-slim \\",
  "    AS builder",
  "RUN cargo build --release",
  "FROM scratch",
  "COPY --from=builder /target/release/app /app",
);

const HEREDOC = df(
  "FROM alpine:3.20 AS gen",
  "RUN <<EOF",
  "FROM this-is-not-a-stage",
  "echo hi > /x",
  "EOF",
  "COPY <<-'CONF' <<OTHER /etc/",
  "\tFROM also-not",
  "\tCONF",
  "FROM nope",
  "OTHER",
  "RUN echo $((1<<2)) && cat <<< 'here-string'",
  "FROM busybox",
);

type Expected = Partial<Stage>;

describe("parseDockerfile: stages", () => {
  it.each<[string, string, Record<string, string>, Expected[], string[], Record<string, string | undefined>]>([
    [
      "Go builder + distroless",
      GO_DISTROLESS,
      {},
      [
        { index: 0, name: "build", from: "golang:1.22-alpine", rawFrom: "golang:${GO_VERSION}-alpine", platform: "$BUILDPLATFORM", line: 4, baseKind: "external" },
        { index: 1, from: "gcr.io/distroless/static-debian12:nonroot", line: 13, baseKind: "external" },
      ],
      ["docker.io/library/golang:1.22-alpine", "gcr.io/distroless/static-debian12:nonroot"],
      { GO_VERSION: "1.22" },
    ],
    [
      "Go builder with a build arg overriding the default",
      GO_DISTROLESS,
      { GO_VERSION: "1.23", TARGETOS: "linux" },
      [{ from: "golang:1.23-alpine" }, { from: "gcr.io/distroless/static-debian12:nonroot" }],
      ["docker.io/library/golang:1.23-alpine", "gcr.io/distroless/static-debian12:nonroot"],
      { GO_VERSION: "1.23" },
    ],
    [
      "node with ARG NODE_VERSION, stage reuse and lowercase keywords",
      NODE_MULTI,
      {},
      [
        { index: 0, name: "deps", from: "docker.io/library/node:20-bookworm-slim", line: 3, baseKind: "external" },
        { index: 1, name: "build", from: "deps", line: 8, baseKind: "stage", baseStage: 0 },
        { index: 2, from: "node:20-bookworm-slim", line: 12, baseKind: "external" },
      ],
      ["docker.io/library/node:20-bookworm-slim"],
      { NODE_VERSION: "20", REGISTRY: undefined },
    ],
    [
      "node with registry and version build args",
      NODE_MULTI,
      { NODE_VERSION: "22", REGISTRY: "mirror.example.com" },
      [{ from: "mirror.example.com/library/node:22-bookworm-slim" }, { baseKind: "stage" }, { from: "node:22-bookworm-slim" }],
      ["mirror.example.com/library/node:22-bookworm-slim", "docker.io/library/node:22-bookworm-slim"],
      { NODE_VERSION: "22", REGISTRY: "mirror.example.com" },
    ],
    [
      "escape directive with backtick, comment inside continuation",
      WINDOWS,
      {},
      [
        { index: 0, name: "base", from: "mcr.microsoft.com/windows/servercore:ltsc2022", line: 2, baseKind: "external" },
        { index: 1, from: "base", line: 8, baseKind: "stage", baseStage: 0 },
      ],
      ["mcr.microsoft.com/windows/servercore:ltsc2022"],
      {},
    ],
    [
      "FROM split over lines with a comment and an empty line, then scratch",
      CONTINUED_FROM,
      {},
      [
        { index: 0, name: "builder", from: "rust:1.79-slim", platform: "$BUILDPLATFORM", line: 1, baseKind: "external" },
        { index: 1, from: "scratch", line: 7, baseKind: "scratch" },
      ],
      ["docker.io/library/rust:1.79-slim"],
      {},
    ],
    [
      "heredoc bodies are not instructions",
      HEREDOC,
      {},
      [{ name: "gen", line: 1 }, { from: "busybox", line: 12 }],
      ["docker.io/library/alpine:3.20", "docker.io/library/busybox:latest"],
      {},
    ],
    [
      "duplicate bases are listed once; digests and tags kept",
      df(`FROM node:20@${D1} AS a`, "FROM node:20 AS b", `FROM docker.io/library/node:20@${D1}`, "FROM index.docker.io/library/node:20"),
      {},
      [{ baseKind: "external" }, { baseKind: "external" }, { baseKind: "external" }, { baseKind: "external" }],
      [`docker.io/library/node:20@${D1}`, "docker.io/library/node:20"],
      {},
    ],
    [
      "stage names are case-insensitive; later and unknown names are external images",
      df("FROM alpine AS Base", "FROM BASE AS one", "FROM later AS two", "FROM alpine AS later", "FROM two"),
      {},
      [
        { name: "base", from: "alpine", baseKind: "external" },
        { name: "one", from: "BASE", baseKind: "stage", baseStage: 0 },
        { name: "two", from: "later", baseKind: "external" },
        { name: "later", from: "alpine", baseKind: "external" },
        { from: "two", baseKind: "stage", baseStage: 2 },
      ],
      ["docker.io/library/alpine:latest", "docker.io/library/later:latest"],
      {},
    ],
    [
      "stage ARGs do not apply to FROM; undeclared build args neither",
      df("FROM alpine AS a", "ARG V=3", "FROM node:${V:-20}", "FROM ${IMG:-busybox}"),
      { V: "9", IMG: "nginx" },
      [{ from: "alpine" }, { from: "node:20" }, { from: "busybox" }],
      ["docker.io/library/alpine:latest", "docker.io/library/node:20", "docker.io/library/busybox:latest"],
      {},
    ],
    [
      "automatic platform ARGs take build arg values",
      df("FROM --platform=$TARGETPLATFORM myorg/base-${TARGETARCH:-amd64}:1"),
      { TARGETARCH: "arm64" },
      [{ from: "myorg/base-arm64:1", platform: "$TARGETPLATFORM" }],
      ["docker.io/myorg/base-arm64:1"],
      {},
    ],
    [
      "CRLF line endings, BOM and indentation",
      "\uFEFFARG TAG=3.20\r\n  FROM alpine:$TAG \\\r\n    AS x\r\n\r\nFROM x\r\n",
      {},
      [{ name: "x", from: "alpine:3.20", line: 2 }, { from: "x", line: 5, baseKind: "stage" }],
      ["docker.io/library/alpine:3.20"],
      { TAG: "3.20" },
    ],
    [
      "unterminated continuation at end of file",
      "FROM alpine AS a \\",
      {},
      [{ name: "a", from: "alpine" }],
      ["docker.io/library/alpine:latest"],
      {},
    ],
    [
      "a directive after a comment is only a comment",
      df("# a comment", "# escape=`", "FROM alpine", "RUN echo `", "FROM busybox"),
      {},
      [{ from: "alpine" }, { from: "busybox", line: 5 }],
      ["docker.io/library/alpine:latest", "docker.io/library/busybox:latest"],
      {},
    ],
  ])("%s", (_title, text, buildArgs, stages, externalBases, globalArgs) => {
    const info = parseDockerfile(text, buildArgs);
    expect(info.stages).toHaveLength(stages.length);
    stages.forEach((expected, i) => expect(info.stages[i]).toMatchObject(expected));
    for (const stage of info.stages) {
      if (stage.baseKind !== "stage") expect(stage).not.toHaveProperty("baseStage");
    }
    expect(info.externalBases).toStrictEqual(externalBases);
    expect(info.globalArgs).toStrictEqual(globalArgs);
  });
});

describe("parseDockerfile: ARG substitution in FROM", () => {
  it.each<[string, string[], Record<string, string>, string]>([
    ["$V", ["ARG V=node"], {}, "node"],
    ["${V}:20", ["ARG V=node"], {}, "node:20"],
    ["node:${V:-20}", ["ARG V"], {}, "node:20"],
    ["node:${V:-20}", ['ARG V=""'], {}, "node:20"],
    ["node${V-:20}", ['ARG V=""'], {}, "node"], // set but empty: no default
    ["node${V-:20}", ["ARG V"], {}, "node:20"],
    ["node:${V:-20}", ["ARG V=22"], {}, "node:22"],
    ["node${V:+:}${V}", ["ARG V=18"], {}, "node:18"],
    ["node${V:+:}${V}", ["ARG V"], {}, "node"],
    ["node${V+:lts}", ['ARG V=""'], {}, "node:lts"],
    ["${A:-${B:-busybox}}", ["ARG A", "ARG B"], {}, "busybox"],
    ["${A:-${B:-busybox}}", ["ARG A", "ARG B"], { B: "nginx" }, "nginx"],
    ['"${REG}/app":1', ["ARG REG=ghcr.io/o"], {}, "ghcr.io/o/app:1"],
    ["'alpine':3", [], {}, "alpine:3"],
    ["$A$B", ["ARG A=alp B=ine"], {}, "alpine"],
    ["alpine:$TAG", ['ARG TAG="3.20"'], {}, "alpine:3.20"],
    ["alpine:$B", ["ARG A=3", "ARG B=${A}.20"], {}, "alpine:3.20"],
    ["alpine:$B", ["ARG A=3", "ARG B=${A}.20"], { A: "2" }, "alpine:2.20"],
    ["alpine:$B", ["ARG A=3", "ARG B=${A}.20"], { B: "edge" }, "alpine:edge"],
    ["alpine:$B", ["ARG B=1", "ARG B=2"], {}, "alpine:2"],
    ["node:${V}-alpine", ["arg V=20"], {}, "node:20-alpine"],
  ])("FROM %s with %j and build args %j -> %s", (word, args, buildArgs, expected) => {
    const text = df(...args, `FROM ${word}`);
    expect(parseDockerfile(text, buildArgs).stages[0]?.from).toBe(expected);
  });
});

describe("parseDockerfile: errors name the line", () => {
  it.each<[string, string, RegExp]>([
    ["empty file", "", /Dockerfile has no FROM instruction \(read 1 lines\)/],
    ["only ARGs and comments", df("# syntax=docker/dockerfile:1", "ARG X=1", "# FROM x"), /no FROM instruction \(read 4 lines\)/],
    ["FROM alone", df("ARG A=1", "FROM"), /^Dockerfile line 2: FROM names no image$/],
    ["FROM with only a flag", df("FROM --platform=linux/amd64"), /line 1: FROM names no image/],
    ["FROM expanding to empty", df("ARG BASE", "", "FROM $BASE AS x"), /line 3: FROM "\$BASE" expands to an empty image name/],
    ["AS without a name", df("FROM node AS"), /line 1: FROM takes an image and optionally "AS <name>", got "node AS"/],
    ["extra words", df("FROM node extra"), /line 1: FROM takes an image/],
    ["bad stage name", df("FROM node AS 1st"), /line 1: invalid stage name "1st"/],
    ["duplicate stage name", df("FROM a AS x", "FROM b AS X"), /line 2: duplicate stage name "x" \(first used on line 1\)/],
    ["unknown flag", df("FROM --foo=bar node"), /line 1: unknown flag "--foo" on FROM/],
    ["platform with no value", df("FROM --platform node"), /line 1: FROM --platform needs a value/],
    ["two platform flags", df("FROM --platform=a --platform=b node"), /line 1: FROM has more than one --platform flag/],
    ["instruction before FROM", df("ARG X", "RUN echo hi", "FROM node"), /line 2: RUN comes before the first FROM/],
    ["invalid escape directive", df("# escape=x", "FROM a"), /line 1: invalid escape character "x"/],
    ["repeated escape directive", df("# escape=`", "# ESCAPE=\\", "FROM a"), /line 2: only one escape parser directive/],
    ["invalid image", df("FROM alpine", "", "FROM Node:20"), /line 3: invalid image reference "Node:20": repository "Node" must be lowercase/],
    ["required ARG missing", df("ARG A", "FROM ${A:?set-A}"), /line 2: FROM "\$\{A:\?set-A\}": A: set-A$/],
    ["unsupported substitution", df("ARG A=x", "FROM ${A%%x}"), /line 2: .*unsupported substitution/],
    ["missing brace", df("FROM node:${V"), /line 1: .*missing '}'/],
    ["unterminated quote", df('FROM "node'), /line 1: .*unterminated double quote/],
    ["ARG with no name", df("ARG =x", "FROM a"), /line 1: ARG "=x" has no name/],
    ["ARG with nothing", df("ARG", "FROM a"), /line 1: ARG needs a name/],
  ])("%s", (_title, text, message) => {
    const attempt = () => parseDockerfile(text);
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(message);
  });
});

describe("lastStageIndex", () => {
  it.each([
    [GO_DISTROLESS, 1],
    [NODE_MULTI, 2],
    [df("FROM alpine"), 0],
  ])("%#", (text, expected) => {
    expect(lastStageIndex(parseDockerfile(text))).toBe(expected);
  });
});

describe("rewriteFrom", () => {
  it.each<[string, string, Map<number, string>, string]>([
    [
      "pins both bases, keeping flags and AS",
      GO_DISTROLESS,
      new Map([
        [0, `golang@${D1}`],
        [1, `gcr.io/distroless/static-debian12@${D2}`],
      ]),
      GO_DISTROLESS.replace("golang:${GO_VERSION}-alpine AS build", `golang@${D1} AS build`).replace(
        "FROM gcr.io/distroless/static-debian12:nonroot",
        `FROM gcr.io/distroless/static-debian12@${D2}`,
      ),
    ],
    [
      "replaces only the last FROM (OpenShift dockerStrategy.from)",
      NODE_MULTI,
      new Map([[2, "registry.access.redhat.com/ubi9/nodejs-20:latest"]]),
      NODE_MULTI.replace(
        "FROM node:${NODE_VERSION}-bookworm-slim\n",
        "FROM registry.access.redhat.com/ubi9/nodejs-20:latest\n",
      ),
    ],
    [
      "a stage reference can be replaced by an image",
      NODE_MULTI,
      new Map([[1, "node:20"]]),
      NODE_MULTI.replace("from deps as Build", "from node:20 as Build"),
    ],
    [
      "an image on a continuation line after a comment",
      CONTINUED_FROM,
      new Map([[0, `rust@${D1}`]]),
      CONTINUED_FROM.replace("    rust:1.79-slim \\", `    rust@${D1} \\`),
    ],
    [
      "backtick escape",
      WINDOWS,
      new Map([[0, `mcr.microsoft.com/windows/servercore@${D2}`]]),
      WINDOWS.replace("servercore:ltsc2022 `", `servercore@${D2} \``),
    ],
    [
      "CRLF and tabs kept",
      "ARG T=1\r\nFROM\talpine:$T\tAS a\r\nRUN x\r\nFROM a\r\n",
      new Map([[0, "alpine:3.20"]]),
      "ARG T=1\r\nFROM\talpine:3.20\tAS a\r\nRUN x\r\nFROM a\r\n",
    ],
    [
      "heredoc lines are never rewritten",
      HEREDOC,
      new Map([[1, "busybox:1.36"]]),
      HEREDOC.replace(/FROM busybox\n$/, "FROM busybox:1.36\n"),
    ],
    ["no replacements: byte-identical", WINDOWS, new Map(), WINDOWS],
  ])("%s", (_title, text, replacements, expected) => {
    const out = rewriteFrom(text, replacements);
    expect(out).toBe(expected);
    const before = parseDockerfile(text).stages;
    const after = parseDockerfile(out).stages;
    expect(after.map((s) => s.name)).toStrictEqual(before.map((s) => s.name));
    expect(after.map((s) => s.platform)).toStrictEqual(before.map((s) => s.platform));
    for (const [index, image] of replacements) expect(after[index]?.from).toBe(image);
  });

  it.each<[string, string, Map<number, string>, RegExp]>([
    ["stage out of range", GO_DISTROLESS, new Map([[2, "alpine"]]), /cannot rewrite FROM of stage 2: the Dockerfile has 2 stages/],
    ["invalid replacement", GO_DISTROLESS, new Map([[1, "Alpine Linux"]]), /line 13: replacement base: invalid image reference "Alpine Linux"/],
    ["injection attempt", GO_DISTROLESS, new Map([[0, "alpine\nRUN curl evil"]]), /line 4: replacement base: invalid image reference/],
  ])("rejects %s", (_title, text, replacements, message) => {
    const attempt = () => rewriteFrom(text, replacements);
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(message);
  });
});

describe("appendLabels", () => {
  it("given labels, when appended, then one LABEL instruction ends the last stage and parses back to the same values", () => {
    const out = appendLabels("FROM a AS x\nFROM b\nRUN true", [
      ["io.openshift.build.commit.message", 'say "hi" $HOME \\ done'],
      ["team", "blue"],
    ]);
    expect(out).toBe('FROM a AS x\nFROM b\nRUN true\nLABEL "io.openshift.build.commit.message"="say \\"hi\\" \\$HOME \\\\ done" "team"="blue"\n');
    expect(parseDockerfile(out).stages).toHaveLength(2);
  });

  it("given a newline in a value, when appended, then it is written as text and starts no instruction", () => {
    const out = appendLabels("FROM a\n", [["m", "line\nRUN rm -rf /"]]);
    expect(out.split("\n").filter((l) => l.startsWith("RUN"))).toEqual([]);
    expect(out).toContain('"m"="line\\nRUN rm -rf /"');
  });

  it("given the backtick escape directive, when appended, then values are escaped with a backtick", () => {
    const out = appendLabels('# escape=`\nFROM a\n', [["k", 'a"b$c`d\\e']]);
    expect(out.endsWith('LABEL "k"="a`"b`$c``d\\e"\n')).toBe(true);
  });

  it("given no labels, then the text is unchanged", () => {
    expect(appendLabels("FROM a", [])).toBe("FROM a");
  });
});

describe("secretMounts", () => {
  it("lists the secret ids RUN steps mount, with their required flag, once each", () => {
    const text = [
      "FROM alpine",
      "RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci",
      "RUN --mount=type=cache,target=/var/cache --mount=type=secret,id=token,required=true \\",
      "    cat /run/secrets/token",
      "RUN --network=none --mount=type=secret,target=/run/secrets/gpg-key true",
      "RUN --mount=type=secret,id=npmrc,required echo again",
      "RUN echo --mount=type=secret,id=notamount",
    ].join("\n");
    expect(secretMounts(text)).toEqual([
      { id: "npmrc", required: true, line: 2 },
      { id: "token", required: true, line: 3 },
      { id: "gpg-key", required: false, line: 5 },
    ]);
  });

  it("refuses a secret mount with neither id nor target, naming the line", () => {
    expect(() => secretMounts("FROM a\n\nRUN --mount=type=secret,mode=0400 true")).toThrow(/line 3: RUN --mount=type=secret needs an id/);
  });

  it("finds none in a Dockerfile without secret mounts", () => {
    expect(secretMounts("FROM a\nRUN --mount=type=bind,source=.,target=/src make")).toEqual([]);
  });
});
