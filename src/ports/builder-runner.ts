/**
 * BuilderRunner port: start one ephemeral builder for one build and wait for
 * it. The local adapter runs the builder as an unprivileged user with rootless
 * buildah; the AWS adapter starts a Fargate task.
 */
import type { BuilderJob, BuilderReport } from "../builder/job.js";

export interface RunHooks {
  /** Log output, as it arrives. */
  onLog(chunk: string): void;
  /** Structured reports (source commit, bases, pushed digest, failure). */
  onReport(report: BuilderReport): void;
  /** Aborting kills the builder (cancel, deadline). */
  signal: AbortSignal;
}

export interface RunOutcome {
  exitCode: number | null;
  signal: string | null;
  /** Pid of the builder process, when local (for tests that inspect /proc). */
  pid?: number;
}

export interface BuilderRunner {
  run(job: BuilderJob, hooks: RunHooks): Promise<RunOutcome>;
}
