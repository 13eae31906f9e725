/**
 * Local BuilderRunner: runs the builder program (bundled to one file, so it
 * needs no node_modules) as the unprivileged builder user, in a fresh work
 * folder under the system temp dir, with rootless buildah and no daemon. The
 * job goes in on stdin (it holds registry credentials), logs come back on
 * stdout/stderr, reports on fd 3. The work folder, and the build storage in
 * it, is removed when the builder exits.
 */
import { spawn } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BuilderReport, type BuilderJob } from "../../builder/job.js";
import type { BuilderRunner, RunHooks, RunOutcome } from "../../ports/builder-runner.js";
import type { BuilderIdentity } from "./builder-user.js";

const MIN_TMPFS_FREE = 4 * 1024 ** 3;

/**
 * Where per-build work folders go: CASCADE_WORK_DIR when set; else the
 * RAM-backed /dev/shm when it has room (4 GiB free), since build storage is
 * thrown away after the build and needs no durability (on this machine's
 * disk, buildah's syncs cost about a second per build); else the temp dir.
 */
export function defaultWorkRoot(): string {
  if (process.env.CASCADE_WORK_DIR) return process.env.CASCADE_WORK_DIR;
  try {
    const s = statfsSync("/dev/shm");
    if (s.bavail * s.bsize >= MIN_TMPFS_FREE) return "/dev/shm";
  } catch {
    /* no /dev/shm */
  }
  return tmpdir();
}

export interface BuildahRunnerOptions {
  identity: BuilderIdentity;
  /** Path of the bundled builder (dist/builder/cascade-builder.mjs). */
  builderBundle: string;
  /** Parent of the per-build work folders (default `defaultWorkRoot()`); must be reachable by the builder user. */
  workRoot?: string;
  /** Called with the pid as soon as the builder starts (tests inspect /proc). */
  onStart?: (pid: number, workDir: string) => void;
}

export class BuildahRunner implements BuilderRunner {
  constructor(private readonly opts: BuildahRunnerOptions) {}

  run(job: BuilderJob, hooks: RunHooks): Promise<RunOutcome> {
    const { identity } = this.opts;
    const workDir = mkdtempSync(join(this.opts.workRoot ?? defaultWorkRoot(), `cascade-${job.buildName}-`));
    const bundle = join(workDir, "cascade-builder.mjs");
    copyFileSync(this.opts.builderBundle, bundle);
    chmodSync(workDir, 0o700);
    if (identity.prefix.length > 0) {
      chownSync(workDir, identity.uid, identity.gid);
      chownSync(bundle, identity.uid, identity.gid);
    }
    const cleanup = () => {
      try {
        rmSync(workDir, { recursive: true, force: true });
      } catch (e) {
        hooks.onLog(`warning: could not remove work folder ${workDir}: ${(e as Error).message}\n`);
      }
    };
    return new Promise<RunOutcome>((resolvePromise, reject) => {
      const [cmd, ...args] = [...identity.prefix, process.execPath, bundle, workDir];
      const child = spawn(cmd!, args, {
        cwd: workDir,
        stdio: ["pipe", "pipe", "pipe", "pipe"],
        detached: true, // own process group, so cancel kills buildah too
        env: identity.prefix.length > 0 ? { PATH: process.env.PATH } : process.env,
      });
      if (child.pid !== undefined) this.opts.onStart?.(child.pid, workDir);
      const kill = () => {
        if (child.pid !== undefined && child.exitCode === null) {
          try {
            process.kill(-child.pid, "SIGTERM");
            setTimeout(() => {
              try {
                process.kill(-child.pid!, "SIGKILL");
              } catch {
                /* gone */
              }
            }, 5000).unref();
          } catch {
            /* gone */
          }
        }
      };
      if (hooks.signal.aborted) kill();
      hooks.signal.addEventListener("abort", kill, { once: true });
      child.stdout!.on("data", (c: Buffer) => hooks.onLog(c.toString("utf8")));
      child.stderr!.on("data", (c: Buffer) => hooks.onLog(c.toString("utf8")));
      let buf = "";
      const reports = child.stdio[3] as NodeJS.ReadableStream;
      reports.on("data", (c: Buffer) => {
        buf += c.toString("utf8");
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          const parsed = BuilderReport.safeParse(JSON.parse(line));
          if (parsed.success) hooks.onReport(parsed.data);
          else hooks.onLog(`warning: unreadable builder report: ${line}\n`);
        }
      });
      child.on("error", (e) => {
        cleanup();
        reject(e);
      });
      child.on("close", (code, signal) => {
        hooks.signal.removeEventListener("abort", kill);
        cleanup();
        resolvePromise({ exitCode: code, signal, ...(child.pid !== undefined ? { pid: child.pid } : {}) });
      });
      child.stdin!.end(JSON.stringify(job));
    });
  }
}
