/**
 * The Custom strategy and the image guidelines check, on real parts.
 *
 * Custom: a builder image made from the busybox base runs rootless with
 * OpenShift's environment and the source mounted; it writes an OCI image
 * layout, which Cascade pushes by digest and tags. The image runs rootless;
 * the builder saw no registry credentials. `exposeDockerSocket: true` is
 * refused by name.
 *
 * Guidelines: an image that runs as root gets a warning naming the
 * guideline; under `imagePolicy: Enforce` its build fails with
 * `ImagePolicyViolation` and the tag still points at the previous digest.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commitFiles, push } from "../src/adapters/local/git-repo.js";
import { createDistributionClient } from "../src/adapters/registry/distribution-client.js";
import { runImage } from "../src/adapters/local/run-image.js";
import type { Build } from "../src/core/build.js";
import { customBuilderFiles } from "./support/custom-builder.js";
import { buildBaseImage, startStack, type Stack } from "./support/stack.js";

const NS = "strategies";
const SECRET = "strategies-secret";

describe("Custom strategy and image policy", () => {
  let stack: Stack;
  let base: string;
  let builder: string;
  const client = () => {
    const { username, password } = stack.app.registry.credentials;
    return createDistributionClient({ credentialsFor: () => ({ username, password }) });
  };
  const run = (image: string, command: string[]) =>
    runImage({ identity: stack.app.identity, image, command, auth: { [stack.registry]: stack.app.registry.credentials }, insecure: [stack.registry] });
  const log = (b: Build) => readFileSync(b.logPath!, "utf8");
  const bc = (name: string, repo: string, spec: Record<string, unknown>) => ({
    apiVersion: "build.openshift.io/v1",
    kind: "BuildConfig",
    metadata: { name, namespace: NS },
    spec: {
      source: { git: { uri: repo, ref: "main" } },
      output: { to: { kind: "DockerImage", name: `${stack.registry}/${NS}/${name}:latest` } },
      triggers: [{ type: "GitHub", github: { secret: SECRET } }],
      ...spec,
    },
  });

  beforeAll(async () => {
    stack = await startStack();
    await stack.app.store.addSubscriber({ url: stack.events.url, secret: "sub-secret", mode: "binary" }, new Date().toISOString());
    stack.events.secret = "sub-secret";
    base = await buildBaseImage(stack);
    const repo = stack.repo("custom-builder", SECRET);
    builder = `${stack.registry}/${NS}/custom-builder:latest`;
    await stack.apply([bc("custom-builder", repo.bare, { strategy: { type: "Docker", dockerStrategy: {} } })]);
    commitFiles(repo.work, customBuilderFiles(base), "custom builder image");
    await push(repo.work);
    const b = await stack.latestBuild(NS, "custom-builder");
    if (b.phase !== "Complete") throw new Error(`custom builder image ${b.phase}: ${b.message}\n${log(b)}`);
  }, 240_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("runs a Custom builder rootless, pushes the OCI layout it writes, and the image runs rootless", async () => {
    const repo = stack.repo("custom-app", SECRET);
    await stack.apply([
      bc("custom-app", repo.bare, {
        strategy: { type: "Custom", customStrategy: { from: { kind: "DockerImage", name: builder }, env: [{ name: "MODE", value: "release" }] } },
      }),
    ]);
    const commit = commitFiles(repo.work, { "message.txt": "made by a custom builder\n" }, "custom app");
    await push(repo.work);
    const b = await stack.latestBuild(NS, "custom-app");
    const text = log(b);
    expect(b.phase, `${b.message}\n${text}`).toBe("Complete");
    expect(b.inputs.source?.commit).toBe(commit);
    expect(b.inputs.bases.map((x) => x.name)).toEqual([builder]);
    expect(text).toMatch(/custom builder: packing 25 bytes of message as uid 1001/);
    expect(text).toContain("Cascade pushes it (no registry credentials in the builder)");
    expect(text).toContain("--> Pushed by digest");
    // What the registry holds is exactly the manifest the builder wrote.
    const written = /custom builder: wrote (sha256:[a-f0-9]{64})/.exec(text)?.[1];
    expect(b.outputs?.digest).toBe(written);
    expect((await client().resolveDigest(`${stack.registry}/${NS}/custom-app:latest`)).digest).toBe(written);

    const image = `${stack.registry}/${NS}/custom-app@${b.outputs!.digest}`;
    expect(run(image, ["/bin/cat", "/app/message.txt"]).stdout).toBe("made by a custom builder\n");
    const env = run(image, ["/bin/cat", "/app/build-env.txt"]).stdout;
    expect(env).toContain(`OUTPUT_REGISTRY=${stack.registry}`);
    expect(env).toContain(`OUTPUT_IMAGE=${NS}/custom-app:latest`);
    expect(env).toContain(`SOURCE_URI=${repo.bare}`);
    expect(env).toContain("SOURCE_REF=main");
    expect(env).toContain('BUILD_KIND="kind":"Build"');
    expect(env).toContain("MODE=release");
    expect(env).toContain("uid=1001");
    expect(env).toContain("credentials=none");
    expect(env).toContain("push-secret-mount=none");
    expect(b.imageCheck).toMatchObject({ policy: "Warn", passed: true, findings: [] });
  });

  it("gives registry credentials only with spec.output.pushSecret, and then expects the builder to push", async () => {
    const dockerConfig = JSON.stringify({ auths: { [stack.registry]: { auth: Buffer.from("pusher:push-password-8e21").toString("base64") } } });
    await stack.app.secrets.put({ kind: "Secret", namespace: NS, name: "push-creds", type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": Buffer.from(dockerConfig) } }, new Date().toISOString());
    const repo = stack.repo("self-push", SECRET);
    await stack.apply([
      bc("self-push", repo.bare, {
        strategy: { type: "Custom", customStrategy: { from: { kind: "DockerImage", name: builder } } },
        output: { to: { kind: "DockerImage", name: `${stack.registry}/${NS}/self-push:latest` }, pushSecret: { name: "push-creds" } },
      }),
    ]);
    commitFiles(repo.work, { "message.txt": "pushes itself\n" }, "self push");
    await push(repo.work);
    const b = await stack.latestBuild(NS, "self-push");
    const text = log(b);
    expect(text).toContain("Push secret push-creds mounted at /var/run/secrets/openshift.io/push: the builder pushes by itself");
    expect(text).toContain(`custom builder: push config sha256 ${createHash("sha256").update(dockerConfig).digest("hex")}`);
    expect(text).not.toContain("push-password-8e21");
    expect(text).not.toContain(Buffer.from("pusher:push-password-8e21").toString("base64"));
    // This builder pushed nothing, and Cascade says so.
    expect(b.phase).toBe("Failed");
    expect(b.reason).toBe("PushImageToRegistryFailed");
    expect(b.message).toContain(`the custom builder was to push ${stack.registry}/${NS}/self-push:latest itself, but it is not in the registry`);
  });

  it("refuses exposeDockerSocket: true when the BuildConfig is applied, naming the field, and stores nothing", async () => {
    const res = await fetch(`${stack.app.url}/buildconfigs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ items: [bc("socket", "https://git.example.test/x.git", { strategy: { type: "Custom", customStrategy: { from: { kind: "DockerImage", name: builder }, exposeDockerSocket: true } } })] }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { message?: string; error?: string };
    expect(JSON.stringify(body)).toContain("spec.strategy.customStrategy.exposeDockerSocket");
    expect(JSON.stringify(body)).toContain("refused");
    expect(await stack.app.store.getBuildConfig(NS, "socket")).toBeUndefined();
  });

  it("warns, naming the guideline, when an image runs as root", async () => {
    const repo = stack.repo("rooty", SECRET);
    await stack.apply([bc("rooty", repo.bare, { strategy: { type: "Docker", dockerStrategy: {} } })]);
    commitFiles(repo.work, { Dockerfile: `FROM ${base}\nEXPOSE 80\nCMD ["/bin/sh"]\n` }, "root image");
    await push(repo.work);
    const b = await stack.latestBuild(NS, "rooty");
    expect(b.phase).toBe("Complete");
    expect(b.imageCheck?.policy).toBe("Warn");
    expect(b.imageCheck?.passed).toBe(false);
    expect(b.imageCheck?.findings.map((f) => f.guideline)).toEqual(["non-root-user", "unprivileged-ports", "descriptive-labels"]);
    expect(log(b)).toContain("warning: image guideline non-root-user: the image runs as root");
    const mine = () => stack.events.events.find((e) => e.type === "cascade.build.succeeded" && (e.data as { build?: string }).build === b.id);
    for (const t = Date.now(); !mine() && Date.now() - t < 10_000; ) await new Promise((r) => setTimeout(r, 50));
    const succeeded = mine();
    expect((succeeded?.data as { imageCheck?: { findings: { guideline: string }[] } })?.imageCheck?.findings[0]?.guideline).toBe("non-root-user");
  });

  it("under Enforce, fails a root image with ImagePolicyViolation and leaves the tag on the previous digest", async () => {
    const repo = stack.repo("strict", SECRET);
    const labels = 'LABEL io.k8s.description="strict app" io.k8s.display-name="strict" io.openshift.tags="strict"';
    await stack.apply([bc("strict", repo.bare, { strategy: { type: "Docker", dockerStrategy: {} }, imagePolicy: "Enforce" })]);
    commitFiles(repo.work, { Dockerfile: `FROM ${base}\n${labels}\nUSER 1001\nCMD ["/bin/sh"]\n` }, "good image");
    await push(repo.work);
    const good = await stack.latestBuild(NS, "strict");
    expect(good.phase, `${good.message}\n${log(good)}`).toBe("Complete");
    expect(good.imageCheck).toMatchObject({ policy: "Enforce", passed: true });
    const tag = `${stack.registry}/${NS}/strict:latest`;
    expect((await client().resolveDigest(tag)).digest).toBe(good.outputs!.digest);

    commitFiles(repo.work, { Dockerfile: `FROM ${base}\n${labels}\nUSER 0\nCMD ["/bin/sh"]\n` }, "root image");
    await push(repo.work);
    const bad = await stack.latestBuild(NS, "strict", good.number);
    expect(bad.phase).toBe("Failed");
    expect(bad.reason).toBe("ImagePolicyViolation");
    expect(bad.message).toContain("non-root-user");
    expect(bad.imageCheck?.findings.map((f) => f.guideline)).toEqual(["non-root-user"]);
    // Pushed by digest for inspection, but no tag moved.
    expect(bad.outputs?.tags).toEqual([]);
    expect(bad.outputs?.digest).not.toBe(good.outputs!.digest);
    expect(await client().manifestExists(`${stack.registry}/${NS}/strict@${bad.outputs!.digest}`)).toBe(true);
    expect((await client().resolveDigest(tag)).digest).toBe(good.outputs!.digest);
    expect(log(bad)).toContain("error: image guideline non-root-user");
  });
});
