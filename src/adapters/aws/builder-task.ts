/**
 * The builder task's entry on Fargate (`infra/builder/Containerfile`): the
 * glue between ECS and the same builder program the local runner starts
 * (`src/builder/main.ts`, bundled to `cascade-builder.mjs`), unchanged.
 *
 * 1. `CASCADE_BUILD` (`ns/id`, from the RunTask overrides) names the build;
 *    its job is read from the table (`BuildTasks`), never from the task's
 *    environment or command line.
 * 2. ECR credentials come from `GetAuthorizationToken` with the task role and
 *    are added to the job's `registryAuth`; nothing long-lived is stored.
 *    The job's secret references (`sourceSecret`, build volumes,
 *    `buildSecrets`, `customStrategy.secrets`, `pushSecret`) are resolved
 *    here, from Secrets Manager with the task role (`resolveJobSecrets`):
 *    the table holds names only, and the values live in this process and on
 *    the builder's stdin, nowhere else. A missing one ends the build with a
 *    `failed` report, reason `MissingSecret`, before the builder starts.
 * 3. The builder runs as a child process exactly as locally: the job on its
 *    stdin, logs on stdout/stderr (the container's log, CloudWatch Logs via
 *    awslogs), reports as JSON lines on fd 3.
 * 4. Each report is appended to the task record as it arrives; a push is also
 *    recorded by image and digest, so that the ECR event of Cascade's own push
 *    is recognised by `plan`. The `task-stopped` function reads them.
 * 5. The completion deadline (`CASCADE_DEADLINE_SECONDS`) is kept here: past
 *    it the builder gets SIGTERM (SIGKILL 10 s later) and a DeadlineExceeded
 *    report. ECS's SIGTERM (StopTask on cancel) is passed on to the builder,
 *    which stops buildah and removes its storage before it exits.
 *
 * The task's exit code is the builder's.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { secretValues } from "../../builder/build-inputs.js";
import { BuilderReport, type BuilderJob } from "../../builder/job.js";
import { ValidationError } from "../../core/errors.js";
import { parseImageRef } from "../../core/image-ref.js";
import { makeRedactor } from "../../core/redact.js";
import { parseRefKey, refKey, type BuildRef, type BuildTasks } from "../../ports/remote-builds.js";
import type { SecretStore } from "../../ports/secret-store.js";
import { resolveJobSecrets } from "../../runtime/job-secrets.js";
import { BUILD_ENV, DEADLINE_ENV } from "./builder-env.js";

export interface BuilderTaskOptions {
  ref: BuildRef;
  tasks: BuildTasks;
  /** Registry credentials to add to the job (ECR's), per host. */
  registryAuth?: () => Promise<Record<string, { username: string; password: string }>>;
  /**
   * Where the job's Secrets and ConfigMaps are (Secrets Manager). Without
   * one, a job that names any fails with MissingSecret.
   */
  secrets?: SecretStore;
  /** The builder program (cascade-builder.mjs). */
  builderBundle: string;
  /** The build's work folder (its storage goes there). */
  workDir: string;
  deadlineSeconds?: number;
  /** Aborted when ECS stops the task. */
  signal?: AbortSignal;
  /** The builder's log output. */
  onLog: (chunk: string) => void;
  now?: () => string;
  /** Time between SIGTERM and SIGKILL. Default 10 s. */
  killGraceMs?: number;
}

const NO_SECRETS: SecretStore = {
  get: async () => undefined,
  list: async () => [],
  put: async () => {
    throw new ValidationError("the builder task has no secret store");
  },
  delete: async () => false,
};

/** Run the builder for one build; resolves with its exit code. */
export async function runBuilderTask(o: BuilderTaskOptions): Promise<number> {
  const now = o.now ?? (() => new Date().toISOString());
  const key = refKey(o.ref);
  const record = await o.tasks.get(o.ref);
  if (!record) {
    o.onLog(`cascade: no job stored for build ${key}\n`);
    return 2;
  }
  let job: BuilderJob;
  try {
    // Values only from here on, in memory: the record keeps its references.
    job = await resolveJobSecrets(record.job, o.secrets ?? NO_SECRETS);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const report: BuilderReport = { type: "failed", reason: code === "MissingSecret" ? "MissingSecret" : "BuilderError", message: (e as Error).message };
    o.onLog(`cascade: ${report.message}\n`);
    await o.tasks.addReport(o.ref, report).catch((err: unknown) => o.onLog(`cascade: could not record the failed report of ${key}: ${(err as Error).message}\n`));
    return 1;
  }
  job = { ...job, registryAuth: { ...job.registryAuth, ...(o.registryAuth ? await o.registryAuth() : {}) } };
  // The builder redacts its own lines; this covers what passes through here (an unreadable report, say).
  const redact = makeRedactor(secretValues(job));
  const onLog = (s: string) => o.onLog(redact(s));
  mkdirSync(o.workDir, { recursive: true, mode: 0o700 });

  // Reports are written in order, one at a time; a failed write is logged and the build goes on.
  let writes: Promise<void> = Promise.resolve();
  const keep = (reported: BuilderReport) => {
    // As the local runtime does: a failure's message is redacted again before it is recorded.
    const r: BuilderReport = reported.type === "failed" ? { ...reported, message: redact(reported.message) } : reported;
    writes = writes.then(async () => {
      try {
        await o.tasks.addReport(o.ref, r);
        if (r.type === "pushed") {
          const repo = parseImageRef(r.image);
          await o.tasks.recordPushed(r.tags.map((t) => `${repo.registry}/${repo.repository}:${t}`), r.digest, o.ref, now());
        }
      } catch (e) {
        onLog(`cascade: could not record the ${r.type} report of ${key}: ${(e as Error).message}\n`);
      }
    });
  };

  const deadlineSeconds = o.deadlineSeconds ?? record.deadlineSeconds;
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [o.builderBundle, o.workDir], {
      cwd: o.workDir,
      stdio: ["pipe", "pipe", "pipe", "pipe"],
      detached: true, // its own process group: a stop reaches buildah too
      env: process.env,
    });
    let timedOut = false;
    const kill = () => {
      if (child.pid === undefined || child.exitCode !== null) return;
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        return;
      }
      setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          /* gone */
        }
      }, o.killGraceMs ?? 10_000).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      onLog(`\ncascade: the build ran longer than ${deadlineSeconds}s; stopping it\n`);
      kill();
    }, deadlineSeconds * 1000);
    if (o.signal?.aborted) kill();
    o.signal?.addEventListener("abort", kill, { once: true });
    child.stdout!.on("data", (c: Buffer) => onLog(c.toString("utf8")));
    child.stderr!.on("data", (c: Buffer) => onLog(c.toString("utf8")));
    let buf = "";
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (c: Buffer) => {
      buf += c.toString("utf8");
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let parsed;
        try {
          parsed = BuilderReport.safeParse(JSON.parse(line));
        } catch {
          parsed = undefined;
        }
        if (parsed?.success) keep(parsed.data);
        else onLog(`cascade: unreadable builder report: ${line}\n`);
      }
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (exit, sig) => {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", kill);
      if (timedOut) {
        keep({ type: "failed", reason: "DeadlineExceeded", message: `The build ran longer than ${deadlineSeconds}s` });
        resolve(1);
        return;
      }
      resolve(exit ?? (sig ? 128 + 15 : 1));
    });
    child.stdin!.end(JSON.stringify(job));
  });
  await writes;
  return code;
}

/** The task's main: settings from its environment (task definition and RunTask overrides). */
async function main(): Promise<void> {
  const [{ DynamoDBClient }, { DynamoDBDocumentClient }, { ECRClient }, { SecretsManagerClient }, { DynamoDbBuildTasks }, { EcrAuth }, sm] = await Promise.all([
    import("@aws-sdk/client-dynamodb"),
    import("@aws-sdk/lib-dynamodb"),
    import("@aws-sdk/client-ecr"),
    import("@aws-sdk/client-secrets-manager"),
    import("./build-tasks.js"),
    import("./ecr.js"),
    import("./secrets-manager-store.js"),
  ]);
  const ref = parseRefKey(process.env[BUILD_ENV] ?? "");
  const table = process.env.CASCADE_TABLE;
  if (!ref || !table) {
    process.stderr.write(`cascade-builder-task: ${BUILD_ENV} (namespace/id) and CASCADE_TABLE must be set\n`);
    process.exit(2);
  }
  const prefix = sm.SecretsPrefix.safeParse(process.env.CASCADE_SECRETS_PREFIX ?? sm.DEFAULT_SECRETS_PREFIX);
  if (!prefix.success) {
    process.stderr.write(`cascade-builder-task: CASCADE_SECRETS_PREFIX: ${prefix.error.issues[0]!.message}\n`);
    process.exit(2);
  }
  const deadline = Number(process.env[DEADLINE_ENV]);
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  const ecr = new EcrAuth({ client: new ECRClient({}) });
  const stop = new AbortController();
  process.on("SIGTERM", () => stop.abort());
  const here = dirname(fileURLToPath(import.meta.url));
  const code = await runBuilderTask({
    ref,
    tasks: new DynamoDbBuildTasks({ tableName: table, doc }),
    registryAuth: () => ecr.credentials(),
    secrets: new sm.SecretsManagerStore({ client: new SecretsManagerClient({}), prefix: prefix.data }),
    builderBundle: process.env.CASCADE_BUILDER_BUNDLE ?? join(here, "cascade-builder.mjs"),
    workDir: join(process.env.CASCADE_WORK_DIR ?? join(homedir(), "work"), ref.id),
    ...(Number.isInteger(deadline) && deadline > 0 ? { deadlineSeconds: deadline } : {}),
    signal: stop.signal,
    onLog: (s) => process.stdout.write(s),
  });
  process.exitCode = code;
}

if (process.argv[1] && /cascade-builder-task\.m?js$|builder-task\.(js|ts)$/.test(process.argv[1])) {
  main().catch((e: unknown) => {
    process.stderr.write(`cascade-builder-task: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
