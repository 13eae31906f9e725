/**
 * Unit tests for loading BuildConfig files: every real fixture in
 * test/fixtures/buildconfigs loads as found, with concrete values checked and
 * every warning named; every fixture in invalid/ fails with errors that name
 * the file, the document and the field.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BuildConfigLoadError, loadBuildConfigs } from "./buildconfig-load.js";
import { bcKey, gitTriggerSecrets, outputImage, strategyFrom, strategyKind, type BuildConfig } from "./buildconfig.js";
import { ValidationError } from "./errors.js";

const fixtures = new URL("../../test/fixtures/buildconfigs/", import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, fixtures), "utf8");

/** The facts about a BuildConfig that the rest of Cascade relies on. */
function summary(bc: BuildConfig) {
  const from = strategyFrom(bc);
  return {
    key: bcKey(bc),
    strategy: strategyKind(bc),
    from: from ? `${from.kind} ${from.namespace ? `${from.namespace}/` : ""}${from.name}` : undefined,
    git: bc.spec.source?.git ? `${bc.spec.source.git.uri}${bc.spec.source.git.ref ? `#${bc.spec.source.git.ref}` : ""}` : undefined,
    output: outputImage(bc),
    triggers: bc.spec.triggers.map((t) => t.type),
  };
}

const BINARY =
  "spec.source.type Binary is not supported: Cascade takes no binary uploads (oc start-build --from-dir); builds get only the inline dockerfile, if any";
const VALUE_FROM = "is ignored (only literal values are supported; the variable is not set)";

describe("loadBuildConfigs: documentation and OpenShift fixtures load unchanged", () => {
  it.each([
    {
      file: "docs-ruby-sample-build.yaml",
      configs: [
        {
          key: "default/ruby-sample-build",
          strategy: "Source",
          from: "ImageStreamTag ruby-20-centos7:latest",
          git: "https://github.com/openshift/ruby-hello-world",
          output: "default/origin-ruby-sample:latest",
          triggers: ["GitHub", "Generic", "ImageChange"],
        },
      ],
      warnings: [],
    },
    {
      file: "docs-ruby-sample-build-v3.json",
      configs: [
        {
          key: "default/ruby-sample-build",
          strategy: "Source",
          from: "ImageStreamTag ruby-20-centos7:latest",
          git: "https://github.com/openshift/ruby-hello-world",
          output: "default/origin-ruby-sample:latest",
          triggers: ["GitHub", "Generic", "ImageChange"],
        },
      ],
      warnings: [],
    },
    {
      file: "origin-test-build-list.yaml",
      configs: [
        { key: "default/sample-build", strategy: "Source", from: "DockerImage centos/ruby-22-centos7", git: "git://github.com/openshift/ruby-hello-world.git", output: undefined, triggers: ["ImageChange", "Generic"] },
        { key: "default/sample-verbose-build", strategy: "Source", from: "DockerImage centos/ruby-22-centos7", git: "git://github.com/openshift/ruby-hello-world.git", output: undefined, triggers: ["ImageChange"] },
        { key: "default/sample-build-binary", strategy: "Docker", from: "DockerImage centos/ruby-22-centos7", git: undefined, output: undefined, triggers: ["ImageChange"] },
        { key: "default/sample-build-github-archive", strategy: "Docker", from: "DockerImage centos/ruby-22-centos7", git: undefined, output: undefined, triggers: ["ImageChange"] },
        { key: "default/sample-build-binary-invalidnodeselector", strategy: "Docker", from: "DockerImage centos/ruby-22-centos7", git: undefined, output: undefined, triggers: ["ImageChange"] },
        { key: "default/sample-build-docker-args", strategy: "Docker", from: "DockerImage docker.io/busybox:latest", git: undefined, output: undefined, triggers: ["ImageChange"] },
        { key: "default/sample-build-docker-args-preset", strategy: "Docker", from: "DockerImage docker.io/busybox:latest", git: undefined, output: undefined, triggers: ["ImageChange"] },
        { key: "default/simple-docker-build", strategy: "Docker", from: "DockerImage docker.io/centos/ruby-22-centos7", git: "https://github.com/openshift/ruby-hello-world.git", output: undefined, triggers: [] },
      ],
      warnings: [
        'origin-test-build-list.yaml, document 1, item 1: skipped ImageStream "origin-ruby-sample": only BuildConfig objects are read',
        'origin-test-build-list.yaml, document 1, item 2: skipped Secret "webhooksecret": only BuildConfig objects are read',
        `buildconfig "sample-build-binary" (file origin-test-build-list.yaml, document 1, item 5): ${BINARY}`,
        'buildconfig "sample-build-binary" (file origin-test-build-list.yaml, document 1, item 5): unsupported field spec.source.binary is ignored',
        `buildconfig "sample-build-github-archive" (file origin-test-build-list.yaml, document 1, item 6): ${BINARY}`,
        'buildconfig "sample-build-github-archive" (file origin-test-build-list.yaml, document 1, item 6): unsupported field spec.source.binary is ignored',
        `buildconfig "sample-build-binary-invalidnodeselector" (file origin-test-build-list.yaml, document 1, item 7): ${BINARY}`,
        'buildconfig "sample-build-binary-invalidnodeselector" (file origin-test-build-list.yaml, document 1, item 7): unsupported field spec.source.binary is ignored',
        'buildconfig "sample-build-binary-invalidnodeselector" (file origin-test-build-list.yaml, document 1, item 7): unsupported field spec.nodeSelector is ignored (builds do not run on cluster nodes)',
      ],
    },
    {
      file: "origin-volumes-docker-buildconfig.yaml",
      configs: [{ key: "default/mydockertest", strategy: "Docker", from: undefined, git: undefined, output: "default/mydockerstream:latest", triggers: [] }],
      warnings: [
        'buildconfig "mydockertest" (file origin-volumes-docker-buildconfig.yaml, document 1): unsupported field spec.strategy.dockerStrategy.volumes[0].source.secret.defaultMode is ignored',
        'buildconfig "mydockertest" (file origin-volumes-docker-buildconfig.yaml, document 1): unsupported field spec.strategy.dockerStrategy.volumes[1].source.configMap.defaultMode is ignored',
      ],
    },
    {
      file: "origin-volumes-s2i-buildconfig.yaml",
      configs: [
        { key: "default/mys2itest", strategy: "Source", from: "DockerImage quay.io/redhat-developer/test-build-simples2i:1.2", git: undefined, output: "default/mys2istream:latest", triggers: [] },
      ],
      warnings: [
        `buildconfig "mys2itest" (file origin-volumes-s2i-buildconfig.yaml, document 1): ${BINARY}`,
        'buildconfig "mys2itest" (file origin-volumes-s2i-buildconfig.yaml, document 1): unsupported field spec.source.binary is ignored',
        'buildconfig "mys2itest" (file origin-volumes-s2i-buildconfig.yaml, document 1): unsupported field spec.strategy.sourceStrategy.volumes[0].source.secret.defaultMode is ignored',
        'buildconfig "mys2itest" (file origin-volumes-s2i-buildconfig.yaml, document 1): unsupported field spec.strategy.sourceStrategy.volumes[1].source.configMap.defaultMode is ignored',
        // The original indents `limits` under `strategy`, next to an empty `resources:`.
        'buildconfig "mys2itest" (file origin-volumes-s2i-buildconfig.yaml, document 1): unsupported field spec.strategy.limits is ignored',
      ],
    },
    {
      file: "origin-valuefrom-docker-build.yaml",
      configs: [{ key: "default/mydockertest", strategy: "Docker", from: undefined, git: undefined, output: "default/test:latest", triggers: [] }],
      warnings: [1, 2, 3].map(
        (i) => `buildconfig "mydockertest" (file origin-valuefrom-docker-build.yaml, document 1): unsupported field spec.strategy.dockerStrategy.env[${i}].valueFrom ${VALUE_FROM}`,
      ),
    },
    {
      file: "origin-custom-configmap-list.yaml",
      configs: [
        {
          key: "default/sample-custom-configmap",
          strategy: "Custom",
          from: "ImageStreamTag custom-configmap-builder-image:latest",
          git: undefined,
          output: "default/sample-custom-configmap:latest",
          triggers: [],
        },
      ],
      warnings: [
        'origin-custom-configmap-list.yaml, document 1, item 1: skipped ImageStream "sample-custom-configmap": only BuildConfig objects are read',
        'origin-custom-configmap-list.yaml, document 1, item 2: skipped ConfigMap "custom-configmap": only BuildConfig objects are read',
        'buildconfig "sample-custom-configmap" (file origin-custom-configmap-list.yaml, document 1, item 3): unsupported field spec.source.configMaps is ignored',
        'buildconfig "sample-custom-configmap" (file origin-custom-configmap-list.yaml, document 1, item 3): unsupported field spec.strategy.customStrategy.forcePull is ignored',
      ],
    },
    {
      file: "origin-postcommit-docker-list.yaml",
      configs: [{ key: "default/mydockertest", strategy: "Docker", from: undefined, git: undefined, output: undefined, triggers: [] }],
      warnings: [
        'buildconfig "mydockertest" (file origin-postcommit-docker-list.yaml, document 1, item 1): unsupported field spec.limits is ignored',
        'origin-postcommit-docker-list.yaml, document 1, item 2: skipped DeploymentConfig "mydockertest": only BuildConfig objects are read',
      ],
    },
    {
      file: "origin-multi-document.yaml",
      configs: [
        {
          key: "default/subscription-content-rhel9",
          strategy: "Docker",
          from: "DockerImage registry.access.redhat.com/ubi9/ubi:latest",
          git: undefined,
          output: "default/subscription-content:rhel9",
          triggers: [],
        },
        {
          key: "default/pullsecret-nodejs",
          strategy: "Source",
          from: "DockerImage registry.redhat.io/rhscl/nodejs-10-rhel7:latest",
          git: "https://github.com/sclorg/nodejs-ex.git",
          output: undefined,
          triggers: [],
        },
        { key: "default/myphp", strategy: "Docker", from: undefined, git: undefined, output: undefined, triggers: [] },
      ],
      warnings: [
        'origin-multi-document.yaml, document 1: skipped ImageStream "subscription-content": only BuildConfig objects are read',
        'buildconfig "subscription-content-rhel9" (file origin-multi-document.yaml, document 2): unsupported field spec.strategy.dockerStrategy.volumes[0].source.secret.defaultMode is ignored',
      ],
    },
  ])("$file", ({ file, configs, warnings }) => {
    const loaded = loadBuildConfigs(file, fixture(file));
    expect(loaded.configs.map(summary)).toEqual(configs);
    expect(loaded.warnings).toEqual(warnings);
  });

  // Field by field, what the summaries above do not show.
  const load = (file: string) => loadBuildConfigs(file, fixture(file)).configs;
  const named = (file: string, name: string) => {
    const bc = load(file).find((c) => c.metadata.name === name);
    if (!bc) throw new Error(`${name} not in ${file}`);
    return bc;
  };

  it.each([
    ["docs-ruby-sample-build.yaml", "ruby-sample-build", (bc: BuildConfig) => bc.spec.postCommit, { script: "bundle exec rake test" }],
    ["docs-ruby-sample-build.yaml", "ruby-sample-build", (bc: BuildConfig) => gitTriggerSecrets(bc, "github"), [{ secret: "secret101" }]],
    ["docs-ruby-sample-build.yaml", "ruby-sample-build", (bc: BuildConfig) => bc.spec.runPolicy, "Serial"],
    ["docs-ruby-sample-build-v3.json", "ruby-sample-build", (bc: BuildConfig) => [bc.apiVersion, bc.spec.source?.type], ["v1", "Git"]],
    [
      "origin-test-build-list.yaml",
      "sample-build",
      (bc: BuildConfig) => gitTriggerSecrets(bc, "generic"),
      [{ secret: "mysecret", secretReference: { name: "webhooksecret" } }],
    ],
    [
      "origin-test-build-list.yaml",
      "sample-build",
      (bc: BuildConfig) => bc.spec.strategy.sourceStrategy?.env,
      [
        { name: "FOO", value: "test" },
        { name: "BAR", value: "test" },
        { name: "BUILD_LOGLEVEL", value: "5" },
      ],
    ],
    // `type: imageChange` is the legacy spelling; OpenShift converts it.
    ["origin-test-build-list.yaml", "sample-verbose-build", (bc: BuildConfig) => bc.spec.triggers, [{ type: "ImageChange", imageChange: {} }]],
    ["origin-test-build-list.yaml", "sample-build-github-archive", (bc: BuildConfig) => bc.spec.source?.contextDir, "ruby-hello-world-master"],
    ["origin-test-build-list.yaml", "sample-build-binary-invalidnodeselector", (bc: BuildConfig) => bc.spec.nodeSelector, { nodelabelkey: "nodelabelvalue" }],
    ["origin-test-build-list.yaml", "sample-build-docker-args", (bc: BuildConfig) => bc.spec.source?.dockerfile, "FROM centos/ruby-22-centos7\nARG foo\nRUN echo $foo"],
    ["origin-test-build-list.yaml", "sample-build-docker-args-preset", (bc: BuildConfig) => bc.spec.strategy.dockerStrategy?.buildArgs, [{ name: "foo", value: "default" }]],
    [
      "origin-volumes-docker-buildconfig.yaml",
      "mydockertest",
      (bc: BuildConfig) => bc.spec.strategy.dockerStrategy?.volumes?.map((v) => [v.name, v.source.type, v.source.secret?.secretName ?? v.source.configMap?.name, v.mounts[0]?.destinationPath]),
      [
        ["this-secret", "Secret", "my-secret", "/var/run/secrets/some-secret"],
        ["this-configmap", "ConfigMap", "my-configmap", "/var/run/configmaps/some-configmap"],
      ],
    ],
    ["origin-volumes-docker-buildconfig.yaml", "mydockertest", (bc: BuildConfig) => bc.metadata.labels, { name: "test" }],
    ["origin-volumes-s2i-buildconfig.yaml", "mys2itest", (bc: BuildConfig) => bc.spec.source?.type, "Binary"],
    [
      "origin-valuefrom-docker-build.yaml",
      "mydockertest",
      (bc: BuildConfig) => bc.spec.strategy.dockerStrategy?.env?.map((e) => [e.name, e.value ?? null]),
      [
        ["BUILD_LOGLEVEL", "5"],
        ["FIELDREF_ENV", null],
        ["CONFIGMAPKEYREF_ENV", null],
        ["SECRETKEYREF_ENV", null],
        ["FIELDREF_CLONE_ENV", "$(FIELDREF_ENV)"],
        ["FIELDREF_CLONE_CLONE_ENV", "$(FIELDREF_CLONE_ENV)"],
        ["UNAVAILABLE_ENV", "$(SOME_OTHER_ENV)"],
        ["ESCAPED_ENV", "$$(MY_ESCAPED_VALUE)"],
      ],
    ],
    ["origin-valuefrom-docker-build.yaml", "mydockertest", (bc: BuildConfig) => bc.spec.output?.imageLabels, [{ name: "user-specified-label", value: "arbitrary-value" }]],
    ["origin-valuefrom-docker-build.yaml", "mydockertest", (bc: BuildConfig) => "status" in bc, false],
    [
      "origin-custom-configmap-list.yaml",
      "sample-custom-configmap",
      (bc: BuildConfig) => [bc.spec.source?.type, bc.spec.strategy.customStrategy?.env, bc.metadata.annotations],
      ["None", [{ name: "BUILD_LOGLEVEL", value: "2" }], { "template.alpha.openshift.io/wait-for-ready": "true" }],
    ],
    ["origin-postcommit-docker-list.yaml", "mydockertest", (bc: BuildConfig) => bc.spec.postCommit, { command: ["touch"], args: ["/tmp/postCommit"] }],
    [
      "origin-multi-document.yaml",
      "subscription-content-rhel9",
      (bc: BuildConfig) => [bc.spec.successfulBuildsHistoryLimit, bc.spec.failedBuildsHistoryLimit, bc.spec.source?.type, bc.spec.resources],
      [5, 5, "Dockerfile", {}],
    ],
    ["origin-multi-document.yaml", "pullsecret-nodejs", (bc: BuildConfig) => bc.spec.strategy.sourceStrategy?.pullSecret, { name: "local-ps" }],
    ["origin-multi-document.yaml", "myphp", (bc: BuildConfig) => [bc.spec.successfulBuildsHistoryLimit, bc.spec.failedBuildsHistoryLimit], [2, 5]],
    ["origin-multi-document.yaml", "myphp", (bc: BuildConfig) => bc.spec.source?.dockerfile, "FROM busybox\nRUN touch /php-file\n"],
  ])("%s: %s", (file, name, pick, expected) => {
    expect(pick(named(file, name))).toEqual(expected);
  });
});

describe("loadBuildConfigs: invalid fixtures name file, document and field", () => {
  it.each([
    {
      file: "buildarg-name-number.yaml",
      errors: ['buildarg-name-number.yaml, document 2 (buildconfig "web"): spec.strategy.dockerStrategy.buildArgs[0].name: expected string, received number'],
    },
    {
      file: "expose-docker-socket.yaml",
      errors: ['expose-docker-socket.yaml, document 1 (buildconfig "sample-custom-build"): spec.strategy.customStrategy.exposeDockerSocket: exposeDockerSocket is always refused'],
    },
    {
      file: "many-problems.yaml",
      errors: [
        `many-problems.yaml, document 1 (buildconfig "Ruby_Sample_Build"): metadata.name: "Ruby_Sample_Build" is not a valid name: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
        'many-problems.yaml, document 1 (buildconfig "Ruby_Sample_Build"): spec.source.git.uri: required',
        'many-problems.yaml, document 1 (buildconfig "Ruby_Sample_Build"): spec.strategy.type: strategy type "JenkinsPipeline" is not supported; use Docker, Source or Custom',
        'many-problems.yaml, document 1 (buildconfig "Ruby_Sample_Build"): spec.runPolicy: expected one of "Serial", "Parallel", "SerialLatestOnly", received "Sequential"',
      ],
    },
    {
      file: "webhook-without-secret.yaml",
      errors: [
        'webhook-without-secret.yaml, document 1 (buildconfig "ruby-sample-build"): spec.triggers[0].github: a webhook trigger needs secret or secretReference.name',
        'webhook-without-secret.yaml, document 1 (buildconfig "ruby-sample-build"): spec.triggers[1].generic: only allowed when type is Generic',
      ],
    },
    {
      file: "csi-volume.yaml",
      errors: ['csi-volume.yaml, document 1 (buildconfig "mydockertest"): spec.strategy.dockerStrategy.volumes[0].source.type: expected "Secret" or "ConfigMap", received "CSI"'],
    },
    {
      file: "yaml-syntax-error.yaml",
      errors: ["yaml-syntax-error.yaml, document 2: YAML syntax error at line 15, column 13: Nested mappings are not allowed in compact mappings"],
    },
    {
      file: "list-item-bad-kind.json",
      errors: [
        'list-item-bad-kind.json, document 1, item 2 (buildconfig "sample-build"): spec.strategy.sourceStrategy.from.kind: expected one of "DockerImage", "ImageStreamTag", "ImageStreamImage", received "Image"',
        'list-item-bad-kind.json, document 1, item 2 (buildconfig "sample-build"): spec.completionDeadlineSeconds: must be greater than 0, received -1',
      ],
    },
  ])("$file", ({ file, errors }) => {
    let thrown: unknown;
    try {
      loadBuildConfigs(file, fixture(`invalid/${file}`));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect(thrown).toBeInstanceOf(BuildConfigLoadError);
    const err = thrown as BuildConfigLoadError;
    expect(err.code).toBe("ValidationError");
    expect(err.message.split("\n")).toEqual(errors);
    expect(err.issues).toHaveLength(errors.length);
    expect(err.issues[0]?.file).toBe(file);
  });

  it("carries each problem as structured data", () => {
    try {
      loadBuildConfigs("app.yaml", fixture("invalid/buildarg-name-number.yaml"));
      expect.unreachable();
    } catch (e) {
      expect((e as BuildConfigLoadError).issues).toEqual([
        { file: "app.yaml", document: 2, name: "web", path: "spec.strategy.dockerStrategy.buildArgs[0].name", message: "expected string, received number" },
      ]);
    }
  });
});

describe("loadBuildConfigs: documents and kinds", () => {
  const bc = (name: string, extra = "") => `apiVersion: build.openshift.io/v1\nkind: BuildConfig\nmetadata:\n  name: ${name}\n${extra}spec:\n  strategy:\n    dockerStrategy: {}\n`;

  it.each([
    ["an empty file", "", [], []],
    ["a file of comments", "# nothing here\n", [], []],
    ["empty documents between others", `---\n---\n${bc("a")}---\n# only a comment\n---\n${bc("b")}`, ["default/a", "default/b"], []],
    ["a BuildConfigList", `kind: BuildConfigList\napiVersion: build.openshift.io/v1\nitems:\n- ${bc("a").replace(/\n(?=.)/g, "\n  ")}`, ["default/a"], []],
    ["an empty List", "kind: List\napiVersion: v1\nitems: []\n", [], []],
    [
      "a Template",
      "kind: Template\napiVersion: template.openshift.io/v1\nmetadata:\n  name: app\nobjects: []\n",
      [],
      ['t.yaml, document 1: skipped Template "app": only BuildConfig objects are read; process the template first (oc process)'],
    ],
    ["the same name in two namespaces", `${bc("a", "  namespace: x\n")}---\n${bc("a", "  namespace: y\n")}`, ["x/a", "y/a"], []],
    ["JSON", JSON.stringify({ apiVersion: "v1", kind: "BuildConfig", metadata: { name: "j" }, spec: { strategy: { type: "Docker" } } }), ["default/j"], []],
  ])("reads %s", (_case, text, keys, warnings) => {
    const loaded = loadBuildConfigs("t.yaml", text);
    expect(loaded.configs.map(bcKey)).toEqual(keys);
    expect(loaded.warnings).toEqual(warnings);
  });

  it.each([
    ["a document without kind", "apiVersion: v1\nmetadata:\n  name: x\n", ['t.yaml, document 1 (buildconfig "x"): kind: required']],
    ["a scalar document", "just text\n", ["t.yaml, document 1: expected a Kubernetes object (a mapping with kind and apiVersion), got string"]],
    ["a top-level array", "- a\n- b\n", ["t.yaml, document 1: expected a Kubernetes object (a mapping with kind and apiVersion), got array"]],
    ["a List without items", "kind: List\napiVersion: v1\n", ["t.yaml, document 1: items: required"]],
    ["a List item that is not an object", "kind: List\napiVersion: v1\nitems: [3]\n", ["t.yaml, document 1, item 1: expected a Kubernetes object (a mapping with kind and apiVersion), got number"]],
    ["a duplicate BuildConfig", `${bc("a")}---\n${bc("a")}`, ['t.yaml, document 2 (buildconfig "a"): metadata.name: duplicate buildconfig default/a (first in t.yaml, document 1)']],
    ["a duplicate key", "kind: BuildConfig\nkind: List\n", ["t.yaml, document 1: YAML syntax error at line 2, column 1: Map keys must be unique"]],
    ["an unknown alias", "kind: *nothing\n", ["t.yaml, document 1: YAML error: Unresolved alias (the anchor must be set before the alias): nothing"]],
    ["a wrong apiVersion", bc("a").replace("build.openshift.io/v1", "build.openshift.io/v2"), [`t.yaml, document 1 (buildconfig "a"): apiVersion: expected "build.openshift.io/v1" or "v1", received "build.openshift.io/v2"`]],
    [
      "problems in two documents",
      `${bc("a").replace("dockerStrategy: {}", "type: Pipeline")}---\n${bc("B")}`,
      [
        't.yaml, document 1 (buildconfig "a"): spec.strategy.type: strategy type "Pipeline" is not supported; use Docker, Source or Custom',
        `t.yaml, document 2 (buildconfig "B"): metadata.name: "B" is not a valid name: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
      ],
    ],
  ])("refuses %s", (_case, text, errors) => {
    expect(() => loadBuildConfigs("t.yaml", text)).toThrow(ValidationError);
    try {
      loadBuildConfigs("t.yaml", text);
    } catch (e) {
      expect((e as Error).message.split("\n")).toEqual(errors);
    }
  });
});
