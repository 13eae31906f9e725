/**
 * The ephemeral builder: the program that runs as an unprivileged user, in a
 * work folder of its own, for exactly one build. It reads its job (JSON) on
 * stdin, fetches the source with git, builds with rootless buildah in storage
 * made for this build, pushes by digest, reports (JSON lines on fd 3, or on
 * stdout prefixed `::cascade::` when fd 3 is absent) and removes its storage.
 *
 * Usage: node cascade-builder.mjs WORKDIR < job.json
 */
import { mkdir, writeFile } from "node:fs/promises";
import { closeSync, fstatSync, writeSync } from "node:fs";
import { join } from "node:path";
import { DistributionClient } from "../adapters/registry/distribution-client.js";
import { authJson, registriesConf } from "./containers-config.js";
import type { BudExtras } from "./buildah-build.js";
import { dockerBuild } from "./docker-build.js";
import { exec, StepFailed, type LogSink } from "./exec.js";
import { BuilderJob, type BuilderReport, type SecretData } from "./job.js";
import { makeRedactor } from "../core/redact.js";
import { secretValues, volumeFlags } from "./build-inputs.js";
import { customBuild } from "./custom-build.js";
import { currentDigest } from "./publish.js";
import { s2iBuild } from "./s2i-build.js";
import { fetchSource } from "./source.js";

const REPORT_FD = 3;

function reporter(): (r: BuilderReport) => void {
  let fdOpen = false;
  try {
    fstatSync(REPORT_FD);
    fdOpen = true;
  } catch {
    fdOpen = false;
  }
  return (r) => {
    const line = JSON.stringify(r) + "\n";
    if (fdOpen) writeSync(REPORT_FD, line);
    else process.stdout.write(`::cascade::${line}`);
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function runBuilder(workDir: string, jobText: string, rawLog: LogSink, rawReport: (r: BuilderReport) => void) {
  const job = BuilderJob.parse(JSON.parse(jobText));
  // No secret value reaches the log or a report, whatever a step prints.
  const redact = makeRedactor(secretValues(job));
  const log: LogSink = (line) => rawLog(redact(line));
  const report = (r: BuilderReport) => rawReport(r.type === "failed" ? { ...r, message: redact(r.message) } : r);
  const storage = join(workDir, "storage");
  const runroot = join(workDir, "runroot");
  await mkdir(storage, { recursive: true, mode: 0o700 });
  await mkdir(runroot, { recursive: true, mode: 0o700 });
  const authFile = join(workDir, "auth.json");
  await writeFile(authFile, authJson(job.registryAuth), { mode: 0o600 });
  const regConf = join(workDir, "registries.conf");
  await writeFile(regConf, registriesConf(job.insecureRegistries));
  const buildahEnv: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_REGISTRIES_CONF: regConf,
    BUILDAH_ISOLATION: "chroot",
    REGISTRY_AUTH_FILE: authFile,
  };
  const storageFlags = ["--root", storage, "--runroot", runroot, "--storage-driver", "vfs"];
  const registry = new DistributionClient({
    credentialsFor: (host: string) => job.registryAuth[host],
    insecureHosts: job.insecureRegistries,
  });
  try {
    const secret = job.source.secret;
    const src = await fetchSource(job.source, join(workDir, "src"), log, secret ? { name: secret.name, data: decodeData(secret.data) } : undefined);
    report({ type: "source", commit: src.commit, author: src.author, date: src.date, message: src.message });
    const onBases = (bases: { name: string; digest?: string }[]) => report({ type: "bases", bases });
    const tools = { storageFlags, env: buildahEnv, authFile };
    const s = job.strategy;
    const extras: BudExtras = {
      ...(job.cache ? { cache: job.cache } : {}),
      currentDigest: (ref) => currentDigest(registry, ref),
      onCache: (c) => report({ type: "cache", ...c }),
      extraFlags: s.type === "Custom" ? [] : await volumeFlags(s.volumes, workDir, log),
      registry,
      imagePolicy: job.imagePolicy,
      onImageCheck: (check) => report({ type: "imageCheck", check }),
      onPushedByDigest: (p) => report({ type: "pushed", image: p.image, digest: p.digest, tags: [] }),
    };
    const result =
      s.type === "Source"
        ? await s2iBuild(
            { ...job, strategy: s },
            src,
            workDir,
            tools,
            {
              resolveDigest: async (ref) => (await registry.resolveDigest(ref)).digest,
              getImageConfig: (ref) => registry.getImageConfig(ref),
              manifestExists: (ref) => registry.manifestExists(ref),
            },
            log,
            onBases,
            extras,
          )
        : s.type === "Custom"
          ? await customBuild({ ...job, strategy: s }, src, workDir, tools, registry, log, onBases, extras)
          : await dockerBuild(
              { ...job, strategy: s },
              src,
              workDir,
              tools,
              async (ref) => (await registry.resolveDigest(ref)).digest,
              log,
              onBases,
              extras,
            );
    report({ type: "pushed", image: result.image, digest: result.digest, tags: result.tags, ...(result.unchanged ? { unchanged: true } : {}) });
    return 0;
  } catch (e) {
    const failed =
      e instanceof StepFailed ? { reason: e.reason, message: e.message } : { reason: "BuilderError", message: String((e as Error)?.message ?? e) };
    log(`error: ${failed.message}`);
    report({ type: "failed", ...failed });
    return 1;
  } finally {
    log("--> Removing build storage");
    // Storage made by rootless buildah holds files owned by sub-uids: remove it inside the user namespace.
    const rm = await exec("buildah", ["unshare", "rm", "-rf", storage, runroot], { env: buildahEnv, log, quiet: true });
    if (rm.code !== 0) log(`warning: could not remove build storage ${storage}`);
  }
}

const decodeData = (data: SecretData | undefined): Record<string, Buffer> =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")]));

async function main() {
  const workDir = process.argv[2];
  if (!workDir) {
    process.stderr.write("usage: cascade-builder WORKDIR < job.json\n");
    process.exit(2);
  }
  // Cascade's own step lines carry the time since the builder started.
  const t0 = Date.now();
  const log: LogSink = (line) =>
    process.stdout.write(line.startsWith("-->") ? `${line} [+${((Date.now() - t0) / 1000).toFixed(2)}s]\n` : line + "\n");
  const report = reporter();
  // Cancel and deadline send SIGTERM to the whole process group: buildah
  // stops, the step fails, and the storage is still removed before exit.
  process.on("SIGTERM", () => log("--> Stopping: the build was cancelled or ran out of time"));
  const code = await runBuilder(workDir, await readStdin(), log, report);
  try {
    closeSync(REPORT_FD);
  } catch {
    /* fd 3 was not given */
  }
  process.exitCode = code;
}

if (process.argv[1] && /cascade-builder\.m?js$|builder[\\/]main\.(js|ts)$/.test(process.argv[1])) {
  void main();
}
