/**
 * Unit tests for the BuildConfig schema, the unsupported-field walk and the
 * helpers. Invalid cases are derived from one valid BuildConfig (the OpenShift
 * docs' ruby-sample-build) with `structuredClone` and a small edit each.
 */
import { describe, expect, it } from "vitest";
import {
  BuildConfig,
  bcKey,
  checkBuildConfig,
  formatPath,
  gitTriggerSecrets,
  outputImage,
  strategyFrom,
  strategyKind,
  unsupportedFields,
  type BuildConfigCheck,
} from "./buildconfig.js";

/** The OpenShift docs' example, as a plain object (see test/fixtures/buildconfigs/docs-ruby-sample-build.yaml). */
const rubySample = {
  kind: "BuildConfig",
  apiVersion: "build.openshift.io/v1",
  metadata: { name: "ruby-sample-build" },
  spec: {
    runPolicy: "Serial",
    triggers: [
      { type: "GitHub", github: { secret: "secret101" } },
      { type: "Generic", generic: { secret: "secret101" } },
      { type: "ImageChange" },
    ],
    source: { git: { uri: "https://github.com/openshift/ruby-hello-world" } },
    strategy: { sourceStrategy: { from: { kind: "ImageStreamTag", name: "ruby-20-centos7:latest" } } },
    output: { to: { kind: "ImageStreamTag", name: "origin-ruby-sample:latest" } },
    postCommit: { script: "bundle exec rake test" },
  },
};

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A copy of `base` changed by `edit`. */
function derive(edit: (bc: Doc) => void, base: Doc = rubySample): Doc {
  const copy = structuredClone(base);
  edit(copy);
  return copy;
}

function parsed(input: unknown): BuildConfig {
  const r = checkBuildConfig(input);
  if (!r.ok) throw new Error(`expected a valid BuildConfig, got: ${JSON.stringify(r.errors)}`);
  return r.config;
}

function errorsOf(r: BuildConfigCheck): string[] {
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
}

describe("BuildConfig schema: defaults", () => {
  const bc = parsed(rubySample);

  it.each([
    ["metadata.namespace", bc.metadata.namespace, "default"],
    ["spec.runPolicy", bc.spec.runPolicy, "Serial"],
    ["spec.successfulBuildsHistoryLimit", bc.spec.successfulBuildsHistoryLimit, 5],
    ["spec.failedBuildsHistoryLimit", bc.spec.failedBuildsHistoryLimit, 5],
    ["spec.imagePolicy", bc.spec.imagePolicy, "Warn"],
    ["spec.rebase", bc.spec.rebase, false],
    ["spec.strategy.type (inferred)", bc.spec.strategy.type, "Source"],
    ["spec.triggers[2].imageChange (defaulted)", bc.spec.triggers[2]?.imageChange, {}],
    ["spec.tagPolicy", bc.spec.tagPolicy, undefined],
  ])("%s", (_field, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it("keeps given values over defaults", () => {
    const c = parsed(
      derive((d) => {
        d.metadata.namespace = "team-a";
        d.spec.runPolicy = "SerialLatestOnly";
        d.spec.successfulBuildsHistoryLimit = 0;
        d.spec.imagePolicy = "Enforce";
        d.spec.rebase = true;
        d.spec.tagPolicy = { latest: true };
      }),
    );
    expect([c.metadata.namespace, c.spec.runPolicy, c.spec.successfulBuildsHistoryLimit, c.spec.imagePolicy, c.spec.rebase]).toEqual([
      "team-a",
      "SerialLatestOnly",
      0,
      "Enforce",
      true,
    ]);
    expect(c.spec.tagPolicy).toEqual({ semver: true, latest: true });
  });

  it("treats null as absent, as Kubernetes does", () => {
    const c = parsed(derive((d) => Object.assign(d.spec, { nodeSelector: null, resources: null, output: { to: d.spec.output.to, pushSecret: null } })));
    expect(c.spec.nodeSelector).toBeUndefined();
    expect(c.spec.output?.pushSecret).toBeUndefined();
  });

  it("drops status and keeps unknown fields in the parsed value", () => {
    const c = parsed(derive((d) => Object.assign(d, { status: { lastVersion: 3 } }, { spec: { ...d.spec, serviceAccount: "builder" } })));
    expect("status" in c).toBe(false);
    expect((c.spec as Record<string, unknown>).serviceAccount).toBe("builder");
  });

  it("accepts the legacy apiVersion v1", () => {
    expect(parsed(derive((d) => (d.apiVersion = "v1"))).apiVersion).toBe("v1");
  });
});

describe("BuildConfig schema: metadata.name is a DNS-1123 subdomain", () => {
  it.each(["a", "ruby-sample-build", "api.dev", "a1-b2.c3", "x".repeat(253)])("accepts %j", (name) => {
    expect(checkBuildConfig(derive((d) => (d.metadata.name = name))).ok).toBe(true);
  });

  it.each(["Ruby", "ruby_sample", "-web", "web-", "web..api", ".web", "x".repeat(254)])("refuses %j", (name) => {
    expect(errorsOf(checkBuildConfig(derive((d) => (d.metadata.name = name))))).toEqual([
      `metadata.name: ${JSON.stringify(name)} is not a valid name: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
    ]);
  });

  it.each([
    ["missing", undefined, "metadata.name: required"],
    ["empty", "", "metadata.name: must not be empty"],
  ])("refuses a %s name", (_case, name, error) => {
    expect(errorsOf(checkBuildConfig(derive((d) => (d.metadata.name = name))))[0]).toBe(error);
  });

  it("refuses a namespace that is not a DNS-1123 label", () => {
    expect(errorsOf(checkBuildConfig(derive((d) => (d.metadata.namespace = "team.a"))))).toEqual([
      `metadata.namespace: "team.a" is not a valid namespace: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
    ]);
  });
});

describe("BuildConfig schema: strategy", () => {
  const docker = { from: { kind: "DockerImage", name: "node:20" } };
  const source = { from: { kind: "ImageStreamTag", name: "nodejs:20", namespace: "openshift" } };
  const custom = { from: { kind: "DockerImage", name: "quay.io/acme/builder:1" } };

  it.each([
    ["dockerStrategy only", { dockerStrategy: docker }, "Docker"],
    ["sourceStrategy only", { sourceStrategy: source }, "Source"],
    ["customStrategy only", { customStrategy: custom }, "Custom"],
    ["type Docker and no options", { type: "Docker" }, "Docker"],
    ["type with its options", { type: "Source", sourceStrategy: source }, "Source"],
  ])("%s is a %s build", (_case, strategy, kind) => {
    expect(strategyKind(parsed(derive((d) => (d.spec.strategy = strategy))))).toBe(kind);
  });

  it.each([
    ["nothing", {}, ["spec.strategy: one of dockerStrategy, sourceStrategy or customStrategy is required"]],
    ["two strategies", { dockerStrategy: docker, sourceStrategy: source }, ["spec.strategy: only one of dockerStrategy, sourceStrategy or customStrategy may be set"]],
    ["type Source without options", { type: "Source" }, ["spec.strategy.sourceStrategy: required when type is Source"]],
    ["type Docker with sourceStrategy", { type: "Docker", sourceStrategy: source }, ["spec.strategy.sourceStrategy: not allowed when type is Docker"]],
    ["an unsupported type", { type: "JenkinsPipeline" }, [`spec.strategy.type: strategy type "JenkinsPipeline" is not supported; use Docker, Source or Custom`]],
    ["a Source build without a builder image", { sourceStrategy: {} }, ["spec.strategy.sourceStrategy.from: required"]],
    [
      "a from of an unknown kind",
      { dockerStrategy: { from: { kind: "Image", name: "x" } } },
      [`spec.strategy.dockerStrategy.from.kind: expected one of "DockerImage", "ImageStreamTag", "ImageStreamImage", received "Image"`],
    ],
    [
      "a build argument with a number for a name",
      { dockerStrategy: { buildArgs: [{ name: 42, value: "x" }] } },
      ["spec.strategy.dockerStrategy.buildArgs[0].name: expected string, received number"],
    ],
    ["noCache as a string", { dockerStrategy: { noCache: "yes" } }, ["spec.strategy.dockerStrategy.noCache: expected boolean, received string"]],
  ])("refuses %s", (_case, strategy, errors) => {
    expect(errorsOf(checkBuildConfig(derive((d) => (d.spec.strategy = strategy))))).toEqual(errors);
  });

  it.each([
    [true, ["spec.strategy.customStrategy.exposeDockerSocket: exposeDockerSocket is always refused"]],
    [false, []],
    [undefined, []],
  ])("customStrategy.exposeDockerSocket %j gives %j", (expose, errors) => {
    const r = checkBuildConfig(derive((d) => (d.spec.strategy = { customStrategy: { ...custom, exposeDockerSocket: expose } })));
    expect(errorsOf(r)).toEqual(errors);
  });

  it("reads every Docker, Source and Custom option", () => {
    const volumes = [
      { name: "certs", source: { type: "Secret", secret: { secretName: "ca" } }, mounts: [{ destinationPath: "/etc/pki/ca" }] },
      { name: "settings", source: { type: "ConfigMap", configMap: { name: "maven" } }, mounts: [{ destinationPath: "/opt/m2" }] },
    ];
    const d = parsed(
      derive(
        (x) =>
          (x.spec.strategy = {
            dockerStrategy: {
              ...docker,
              dockerfilePath: "build/Dockerfile",
              buildArgs: [{ name: "VERSION", value: "1.2" }],
              env: [{ name: "CI", value: "true" }],
              noCache: true,
              pullSecret: { name: "hub" },
              volumes,
            },
          }),
      ),
    ).spec.strategy.dockerStrategy;
    expect(d).toEqual({
      from: { kind: "DockerImage", name: "node:20" },
      dockerfilePath: "build/Dockerfile",
      buildArgs: [{ name: "VERSION", value: "1.2" }],
      env: [{ name: "CI", value: "true" }],
      noCache: true,
      pullSecret: { name: "hub" },
      volumes,
    });
    const s = parsed(derive((x) => (x.spec.strategy = { sourceStrategy: { ...source, incremental: true, scripts: "https://x/s2i", volumes } })));
    expect(s.spec.strategy.sourceStrategy).toMatchObject({ incremental: true, scripts: "https://x/s2i", volumes });
    const c = parsed(
      derive((x) => (x.spec.strategy = { customStrategy: { ...custom, secrets: [{ secretSource: { name: "push" }, mountPath: "/var/run/push" }] } })),
    );
    expect(c.spec.strategy.customStrategy?.secrets).toEqual([{ secretSource: { name: "push" }, mountPath: "/var/run/push" }]);
  });

  it.each([
    [
      "Secret without secret",
      { name: "v", source: { type: "Secret", configMap: { name: "m" } }, mounts: [{ destinationPath: "/x" }] },
      ["spec.strategy.dockerStrategy.volumes[0].source.secret: required when source.type is Secret", "spec.strategy.dockerStrategy.volumes[0].source.configMap: not allowed when source.type is Secret"],
    ],
    [
      "no mounts",
      { name: "v", source: { type: "ConfigMap", configMap: { name: "m" } }, mounts: [] },
      ["spec.strategy.dockerStrategy.volumes[0].mounts: must have at least 1 item"],
    ],
    [
      "a CSI source",
      { name: "v", source: { type: "CSI", csi: { driver: "x" } }, mounts: [{ destinationPath: "/x" }] },
      [`spec.strategy.dockerStrategy.volumes[0].source.type: expected "Secret" or "ConfigMap", received "CSI"`],
    ],
  ])("refuses a volume with %s", (_case, volume, errors) => {
    expect(errorsOf(checkBuildConfig(derive((d) => (d.spec.strategy = { dockerStrategy: { volumes: [volume] } }))))).toEqual(errors);
  });
});

describe("BuildConfig schema: source, output, hooks and limits", () => {
  it.each([
    ["type Git without git", { type: "Git" }, ["spec.source.git: required when type is Git"]],
    ["type Dockerfile without dockerfile", { type: "Dockerfile" }, ["spec.source.dockerfile: required when type is Dockerfile"]],
    ["git without uri", { git: { ref: "main" } }, ["spec.source.git.uri: required"]],
    ["an unknown type", { type: "Svn" }, [`spec.source.type: expected one of "Git", "Dockerfile", "Binary", "Image", "None", received "Svn"`]],
  ])("refuses a source with %s", (_case, source, errors) => {
    expect(errorsOf(checkBuildConfig(derive((d) => (d.spec.source = source))))).toEqual(errors);
  });

  it("reads the source fields and compares the source type case-insensitively", () => {
    const src = { type: "git", git: { uri: "https://github.com/a/b", ref: "main" }, contextDir: "app", dockerfile: "FROM x", sourceSecret: { name: "ssh" } };
    expect(parsed(derive((d) => (d.spec.source = src))).spec.source).toEqual({ ...src, type: "Git" });
  });

  it.each([
    [{ script: "make test", command: ["make"] }, ["spec.postCommit: script and command cannot both be set"]],
    [{ command: ["touch"], args: ["/tmp/x"] }, []],
    [{ args: ["failme"] }, []],
  ])("postCommit %j", (hook, errors) => {
    expect(errorsOf(checkBuildConfig(derive((d) => (d.spec.postCommit = hook))))).toEqual(errors);
  });

  it.each([
    ["completionDeadlineSeconds", 0, "spec.completionDeadlineSeconds: must be greater than 0, received 0"],
    ["completionDeadlineSeconds", 1.5, "spec.completionDeadlineSeconds: expected an integer, received 1.5"],
    ["failedBuildsHistoryLimit", -1, "spec.failedBuildsHistoryLimit: must be at least 0, received -1"],
    ["runPolicy", "Sequential", `spec.runPolicy: expected one of "Serial", "Parallel", "SerialLatestOnly", received "Sequential"`],
    ["imagePolicy", "Block", `spec.imagePolicy: expected "Warn" or "Enforce", received "Block"`],
    ["paths", ["/abs/**"], "spec.paths[0]: must be relative to source.contextDir"],
  ])("refuses spec.%s = %j", (field, value, error) => {
    expect(errorsOf(checkBuildConfig(derive((d) => (d.spec[field] = value))))).toEqual([error]);
  });

  it("reads output, resources and Cascade's fields", () => {
    const c = parsed(
      derive((d) => {
        d.spec.output = { to: { kind: "DockerImage", name: "quay.io/acme/web:1" }, imageLabels: [{ name: "team", value: "web" }], pushSecret: { name: "quay" } };
        d.spec.resources = { limits: { cpu: "200m", memory: "1Gi" }, requests: { cpu: 1 } };
        d.spec.completionDeadlineSeconds = 1800;
        d.spec.paths = ["services/web/**", "package.json"];
        d.spec.tagPolicy = { semver: false };
      }),
    );
    expect(c.spec.output).toEqual({ to: { kind: "DockerImage", name: "quay.io/acme/web:1" }, imageLabels: [{ name: "team", value: "web" }], pushSecret: { name: "quay" } });
    expect(c.spec.resources).toEqual({ limits: { cpu: "200m", memory: "1Gi" }, requests: { cpu: 1 } });
    expect([c.spec.completionDeadlineSeconds, c.spec.paths, c.spec.tagPolicy]).toEqual([1800, ["services/web/**", "package.json"], { semver: false, latest: false }]);
  });
});

describe("BuildConfig schema: triggers", () => {
  const withTriggers = (triggers: unknown[]) => derive((d) => (d.spec.triggers = triggers));

  it.each([
    ["github", "GitHub"],
    ["generic", "Generic"],
    ["imageChange", "ImageChange"],
  ])("converts the legacy type %j to %j, as OpenShift does", (legacy, type) => {
    const hook = { secret: "s" };
    const t = parsed(withTriggers([{ type: legacy, [type === "ImageChange" ? "imageChange" : legacy]: type === "ImageChange" ? {} : hook }])).spec.triggers[0];
    expect(t?.type).toBe(type);
  });

  it("reads every trigger kind and its settings", () => {
    const triggers = [
      { type: "GitHub", github: { secret: "gh" } },
      { type: "GitLab", gitlab: { secretReference: { name: "gl-secret" } } },
      { type: "Bitbucket", bitbucket: { secret: "bb" } },
      { type: "Generic", generic: { secret: "g", allowEnv: true } },
      { type: "ImageChange", imageChange: { from: { kind: "ImageStreamTag", name: "nodejs:20" }, paused: true, lastTriggeredImageID: "node@sha256:ab" } },
      { type: "ConfigChange" },
    ];
    expect(parsed(withTriggers(triggers)).spec.triggers).toEqual(triggers);
  });

  it.each([
    [[{ type: "GitHub" }], ["spec.triggers[0].github: required when type is GitHub"]],
    [[{ type: "GitLab", gitlab: {} }], ["spec.triggers[0].gitlab: a webhook trigger needs secret or secretReference.name"]],
    [[{ type: "Generic", generic: { secret: "" } }], ["spec.triggers[0].generic: a webhook trigger needs secret or secretReference.name"]],
    [[{ type: "ImageChange", github: { secret: "s" } }], ["spec.triggers[0].github: only allowed when type is GitHub"]],
    [[{ type: "Gitea", github: { secret: "s" } }], [`spec.triggers[0].type: expected one of "GitHub", "GitLab", "Bitbucket", "Generic", "ImageChange", "ConfigChange", received "Gitea"`]],
    [[{ type: "ConfigChange" }, { type: "GitHub", github: { secret: 7 } }], ["spec.triggers[1].github.secret: expected string, received number"]],
  ])("refuses %j", (triggers, errors) => {
    expect(errorsOf(checkBuildConfig(withTriggers(triggers)))).toEqual(errors);
  });

  it("lists the webhook settings of a provider's triggers, in order", () => {
    const bc = parsed(
      withTriggers([
        { type: "GitHub", github: { secret: "one" } },
        { type: "Generic", generic: { secret: "g", allowEnv: true } },
        { type: "GitHub", github: { secretReference: { name: "gh-secret" } } },
      ]),
    );
    expect(gitTriggerSecrets(bc, "github")).toEqual([{ secret: "one" }, { secretReference: { name: "gh-secret" } }]);
    expect(gitTriggerSecrets(bc, "generic")).toEqual([{ secret: "g", allowEnv: true }]);
    expect(gitTriggerSecrets(bc, "gitlab")).toEqual([]);
  });
});

describe("unsupportedFields", () => {
  /** A BuildConfig that sets every field Cascade supports, so the walk must report nothing. */
  const everything = {
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: {
      name: "web",
      namespace: "team-a",
      labels: { "app.kubernetes.io/name": "web" },
      annotations: { note: "x" },
      creationTimestamp: "2024-01-01T00:00:00Z",
      uid: "u",
      resourceVersion: "1",
      generation: 1,
      selfLink: "/x",
      managedFields: [{ manager: "oc" }],
    },
    spec: {
      source: { type: "Git", git: { uri: "https://github.com/a/b", ref: "main" }, contextDir: "web", dockerfile: "FROM x", sourceSecret: { name: "s" } },
      strategy: {
        type: "Docker",
        dockerStrategy: {
          from: { kind: "ImageStreamTag", name: "node:20", namespace: "openshift" },
          dockerfilePath: "Dockerfile",
          buildArgs: [{ name: "A", value: "1" }],
          env: [{ name: "B", value: "2" }],
          noCache: true,
          pullSecret: { name: "p" },
          volumes: [{ name: "v", source: { type: "Secret", secret: { secretName: "s" } }, mounts: [{ destinationPath: "/s" }] }],
        },
      },
      output: { to: { kind: "DockerImage", name: "r/web:1", namespace: "team-a" }, imageLabels: [{ name: "l", value: "v" }], pushSecret: { name: "p" } },
      triggers: [
        { type: "GitHub", github: { secret: "s", secretReference: { name: "n" }, allowEnv: false } },
        { type: "ImageChange", imageChange: { from: { kind: "DockerImage", name: "node:20" }, paused: false, lastTriggeredImageID: "x" } },
      ],
      runPolicy: "Parallel",
      completionDeadlineSeconds: 60,
      resources: { limits: { cpu: "1" }, requests: { memory: "1Gi" } },
      postCommit: { command: ["true"], args: [] },
      successfulBuildsHistoryLimit: 1,
      failedBuildsHistoryLimit: 1,
      paths: ["web/**"],
      tagPolicy: { semver: true, latest: true },
      rebase: true,
      imagePolicy: "Enforce",
    },
    status: { lastVersion: 4, imageChangeTriggers: [{ lastTriggeredImageID: "x" }] },
  };

  it("reports nothing for a BuildConfig that uses every supported field", () => {
    expect(checkBuildConfig(everything).ok).toBe(true);
    expect(unsupportedFields(everything)).toEqual([]);
  });

  it.each([
    ["spec.strategy.dockerStrategy.forcePull", (d: Doc) => (d.spec.strategy.dockerStrategy.forcePull = true), "unsupported field spec.strategy.dockerStrategy.forcePull is ignored"],
    ["spec.serviceAccount", (d: Doc) => (d.spec.serviceAccount = "builder"), "unsupported field spec.serviceAccount is ignored"],
    ["a misspelt Cascade field", (d: Doc) => (d.spec.tagPolicy.semvar = true), "unsupported field spec.tagPolicy.semvar is ignored"],
    ["metadata.generateName", (d: Doc) => (d.metadata.generateName = "web-"), "unsupported field metadata.generateName is ignored"],
    ["a top-level field", (d: Doc) => (d.extra = 1), "unsupported field extra is ignored"],
    ["a field named like an Object method", (d: Doc) => (d.spec.toString = "x"), "unsupported field spec.toString is ignored"],
    ["spec.source.git.httpProxy", (d: Doc) => (d.spec.source.git.httpProxy = "p:3128"), "unsupported field spec.source.git.httpProxy is ignored"],
    ["a trigger field", (d: Doc) => (d.spec.triggers[1].imageChange.auto = true), "unsupported field spec.triggers[1].imageChange.auto is ignored"],
    [
      "an env valueFrom",
      (d: Doc) => (d.spec.strategy.dockerStrategy.env[0] = { name: "B", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }),
      "unsupported field spec.strategy.dockerStrategy.env[0].valueFrom is ignored (only literal values are supported; the variable is not set)",
    ],
    ["nodeSelector", (d: Doc) => (d.spec.nodeSelector = { disk: "ssd" }), "unsupported field spec.nodeSelector is ignored (builds do not run on cluster nodes)"],
    [
      "a Binary source",
      (d: Doc) => (d.spec.source.type = "binary"),
      "spec.source.type Binary is not supported: Cascade takes no binary uploads (oc start-build --from-dir); builds get only the inline dockerfile, if any",
    ],
  ])("names %s", (_case, edit, message) => {
    const input = derive(edit, everything);
    const warnings = unsupportedFields(input);
    expect(warnings.map((w) => w.message)).toEqual([message]);
    expect(checkBuildConfig(input)).toMatchObject({ warnings });
  });

  it("says nothing about a null field", () => {
    expect(unsupportedFields(derive((d) => (d.spec.nodeSelector = null), everything))).toEqual([]);
  });

  it("walks into every array element", () => {
    const input = derive((d) => {
      d.spec.strategy.dockerStrategy.volumes.push({ ...d.spec.strategy.dockerStrategy.volumes[0], readOnly: true });
      d.spec.strategy.dockerStrategy.volumes[1].mounts = [{ destinationPath: "/a" }, { destinationPath: "/b", subPath: "x" }];
    }, everything);
    expect(unsupportedFields(input).map((w) => w.path)).toEqual([
      "spec.strategy.dockerStrategy.volumes[1].mounts[1].subPath",
      "spec.strategy.dockerStrategy.volumes[1].readOnly",
    ]);
  });
});

describe("helpers", () => {
  const bc = (edit: (d: Doc) => void) => parsed(derive(edit));

  it("bcKey is namespace/name", () => {
    expect(bcKey(bc(() => {}))).toBe("default/ruby-sample-build");
    expect(bcKey(bc((d) => (d.metadata.namespace = "team-a")))).toBe("team-a/ruby-sample-build");
  });

  it.each([
    ["a DockerImage, as it is", { kind: "DockerImage", name: "quay.io/acme/web:1" }, undefined, "quay.io/acme/web:1"],
    ["an ImageStreamTag, in the BuildConfig's namespace", { kind: "ImageStreamTag", name: "web:latest" }, undefined, "default/web:latest"],
    ["an ImageStreamTag, in its own namespace", { kind: "ImageStreamTag", name: "web:latest", namespace: "shared" }, undefined, "shared/web:latest"],
    [
      "an ImageStreamTag, through a resolver",
      { kind: "ImageStreamTag", name: "web:latest" },
      (r: { namespace: string; name: string }) => `localhost:5000/${r.namespace}/${r.name}`,
      "localhost:5000/default/web:latest",
    ],
  ])("outputImage of %s", (_case, to, resolve, expected) => {
    expect(outputImage(bc((d) => (d.spec.output = { to })), resolve)).toBe(expected);
  });

  it("outputImage is undefined when nothing is pushed", () => {
    expect(outputImage(bc((d) => delete d.spec.output))).toBeUndefined();
    expect(outputImage(bc((d) => (d.spec.output = { imageLabels: [] })))).toBeUndefined();
  });

  it.each([
    [{ dockerStrategy: { from: { kind: "DockerImage", name: "node:20" } } }, { kind: "DockerImage", name: "node:20" }],
    [{ type: "Docker" }, undefined],
    [{ customStrategy: { from: { kind: "DockerImage", name: "b:1" } } }, { kind: "DockerImage", name: "b:1" }],
  ])("strategyFrom of %j", (strategy, from) => {
    expect(strategyFrom(bc((d) => (d.spec.strategy = strategy)))).toEqual(from);
  });

  it.each([
    [["spec", "triggers", 0, "github"], "spec.triggers[0].github"],
    [["metadata", "labels", "app.kubernetes.io/name"], `metadata.labels["app.kubernetes.io/name"]`],
    [[], ""],
  ])("formatPath(%j) is %j", (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});
