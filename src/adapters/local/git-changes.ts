/**
 * SourceChanges with real git: fetch the two commits into a throwaway bare
 * repository (blobs filtered out where the server allows it) and list
 * `git diff --name-only before after`. Runs as Cascade's own user: it reads
 * only history, never checks anything out.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import type { SourceChanges } from "../../ports/source-changes.js";

const ZERO = /^0+$/;

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "git",
      args,
      { cwd, timeout: 60_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1" } },
      (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
    );
  });
}

export class GitChanges implements SourceChanges {
  constructor(private readonly log: Logger) {}

  async changedFiles(uri: string, before: string, after: string): Promise<string[] | undefined> {
    if (!before || !after || ZERO.test(before) || ZERO.test(after)) return undefined;
    const dir = await mkdtemp(join(tmpdir(), "cascade-changes-"));
    try {
      for (const args of [
        ["init", "--quiet", "--bare"],
        ["-c", "safe.directory=*", "fetch", "--quiet", "--filter=blob:none", uri, before, after],
      ]) {
        const r = await run(args, dir);
        if (r.code !== 0) {
          this.log.warn({ uri, before, after, error: r.stderr.trim() }, "cannot list changed files");
          return undefined;
        }
      }
      const diff = await run(["diff", "--name-only", "--no-renames", before, after], dir);
      if (diff.code !== 0) return undefined;
      return diff.stdout.split("\n").filter(Boolean).sort();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
