/**
 * Build inputs inside the builder: the job's Secrets and ConfigMaps written
 * to files in the build's own work folder (0700, removed with it), and the
 * buildah flags that hand them to `RUN` steps without committing them:
 *
 * - build volumes: `--volume DIR:DEST:ro` on every `RUN` step (OpenShift's
 *   `dockerStrategy.volumes` and `sourceStrategy.volumes`);
 * - build secrets: `--secret id=ID,src=FILE` for `RUN --mount=type=secret`.
 *
 * Also every secret value the job holds, for the log redactor.
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StepFailed, type LogSink } from "./exec.js";
import type { BuilderJob, JobBuildSecret, JobVolume, SecretData } from "./job.js";

const decode = (data: SecretData | undefined, what: string): Record<string, Buffer> => {
  if (data === undefined) throw new StepFailed("BuilderError", `${what} reached the builder without its data`);
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64")]));
};

/** Write each key of a Secret or ConfigMap as a file in `dir`: readable, not writable, by any uid in the build. */
export async function writeKeys(dir: string, files: Record<string, Buffer>): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [key, bytes] of Object.entries(files)) {
    const file = join(dir, key);
    await writeFile(file, bytes, { mode: 0o444 });
    await chmod(file, 0o444);
  }
  await chmod(dir, 0o555);
}

/** `--volume` flags for the build volumes, after writing their files under `workDir/volumes`. */
export async function volumeFlags(volumes: readonly JobVolume[], workDir: string, log: LogSink): Promise<string[]> {
  const flags: string[] = [];
  for (const v of volumes) {
    const dir = join(workDir, "volumes", v.name);
    await writeKeys(dir, decode(v.data, `build volume ${v.name} (${v.kind} ${v.source})`));
    for (const dest of v.destinationPaths) {
      flags.push("--volume", `${dir}:${dest}:ro`);
      log(`--> Build volume ${v.name}: ${v.kind} ${v.source} mounted read-only at ${dest} in every RUN step`);
    }
  }
  return flags;
}

/**
 * `--secret` flags for `RUN --mount=type=secret`. `mounts` are the ids the
 * Dockerfile uses: a required id that the BuildConfig does not provide fails
 * the build before it starts, naming the id; an optional one is a warning.
 */
export async function buildSecretFlags(
  secrets: readonly JobBuildSecret[],
  mounts: readonly { id: string; required: boolean; line: number }[],
  workDir: string,
  log: LogSink,
): Promise<string[]> {
  for (const m of mounts) {
    if (secrets.some((s) => s.id === m.id)) continue;
    const msg = `Dockerfile line ${m.line} mounts secret id "${m.id}", which spec.strategy.dockerStrategy.buildSecrets does not provide`;
    if (m.required) throw new StepFailed("InvalidDockerfile", msg);
    log(`warning: ${msg}; the step runs without it`);
  }
  const flags: string[] = [];
  const dir = join(workDir, "build-secrets");
  for (const s of secrets) {
    if (s.value === undefined) throw new StepFailed("BuilderError", `build secret ${s.id} reached the builder without its value`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, s.id);
    await writeFile(file, Buffer.from(s.value, "base64"), { mode: 0o400 });
    flags.push("--secret", `id=${s.id},src=${file}`);
    log(`--> Build secret ${s.id}: key ${s.key ?? "(its only key)"} of secret ${s.secret}, for RUN --mount=type=secret,id=${s.id}`);
  }
  return flags;
}

/** Every secret value in the job (not ConfigMaps): what the log redactor hides. */
export function secretValues(job: BuilderJob): string[] {
  const out: string[] = [];
  const add = (data: SecretData | undefined) => {
    for (const v of Object.values(data ?? {})) out.push(Buffer.from(v, "base64").toString("utf8"));
  };
  add(job.source.secret?.data);
  const s = job.strategy;
  if (s.type === "Docker" || s.type === "Source") for (const v of s.volumes) if (v.kind === "Secret") add(v.data);
  if (s.type === "Docker") for (const b of s.buildSecrets) if (b.value !== undefined) out.push(Buffer.from(b.value, "base64").toString("utf8"));
  if (s.type === "Custom") {
    for (const m of s.secrets) add(m.data);
    add(s.pushSecret?.data);
  }
  for (const a of Object.values(job.registryAuth)) out.push("password" in a ? a.password : a.token);
  return out;
}
