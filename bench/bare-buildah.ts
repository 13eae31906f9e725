/**
 * Benchmarks' baseline: buildah run by hand, as the same unprivileged user
 * as Cascade's builder, with the same isolation (chroot), storage driver
 * (vfs) and storage medium (`defaultWorkRoot()`), against the same local
 * registry. Storage is fresh per `storage()` call, or reused to measure a
 * warm local cache.
 */
import { spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultWorkRoot } from "../src/adapters/local/buildah-runner.js";
import type { BuilderIdentity } from "../src/adapters/local/builder-user.js";
import { git } from "../src/adapters/local/git-repo.js";
import { authJson } from "../src/builder/containers-config.js";

export interface BareStorage {
  dir: string;
  flags: string[];
}

export class BareBuildah {
  readonly workRoot = defaultWorkRoot();

  constructor(
    private readonly id: BuilderIdentity,
    private readonly registry: string,
    private readonly credentials: { username: string; password: string },
  ) {}

  /** A folder owned by the builder user with an auth file, and storage flags pointing into it. */
  storage(): BareStorage {
    const dir = mkdtempSync(join(this.workRoot, "cascade-bench-bare-"));
    writeFileSync(join(dir, "auth.json"), authJson({ [this.registry]: this.credentials }), { mode: 0o600 });
    this.own(dir);
    return { dir, flags: ["--root", join(dir, "storage"), "--runroot", join(dir, "runroot"), "--storage-driver", "vfs"] };
  }

  /** A checkout of `commit` of `repo` in the storage folder, readable by the builder user. */
  checkout(s: BareStorage, repo: string, commit: string, name = "src"): string {
    const dir = join(s.dir, name);
    rmSync(dir, { recursive: true, force: true });
    git(s.dir, ["clone", "--quiet", repo, dir]);
    git(dir, ["checkout", "--quiet", commit]);
    this.own(s.dir);
    return dir;
  }

  run(cmd: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
    const p = this.id.prefix;
    return spawnSync(p[0] ?? cmd[0]!, [...p.slice(1), ...(p.length ? cmd : cmd.slice(1))], { cwd, encoding: "utf8" });
  }

  /** `buildah bud` then `buildah push --digestfile`: the pushed digest and the wall time of both. */
  budAndPush(s: BareStorage, budArgs: string[], contextDir: string, target: string): { ms: number; digest: string; stdout: string } {
    const auth = join(s.dir, "auth.json");
    const t0 = Date.now();
    const bud = this.run(
      ["buildah", ...s.flags, "bud", "--isolation", "chroot", "--tls-verify=false", "--authfile", auth, ...budArgs, "-t", target, contextDir],
      s.dir,
    );
    if (bud.status !== 0) throw new Error(`bare bud failed: ${bud.stderr}`);
    const pushed = this.run(
      ["buildah", ...s.flags, "push", "--tls-verify=false", "--authfile", auth, "--digestfile", join(s.dir, "digest"), target, `docker://${target}`],
      s.dir,
    );
    if (pushed.status !== 0) throw new Error(`bare push failed: ${pushed.stderr}`);
    const ms = Date.now() - t0;
    return { ms, digest: readFileSync(join(s.dir, "digest"), "utf8").trim(), stdout: bud.stdout };
  }

  remove(s: BareStorage): void {
    this.run(["buildah", "unshare", "rm", "-rf", join(s.dir, "storage"), join(s.dir, "runroot")], s.dir);
    rmSync(s.dir, { recursive: true, force: true });
  }

  private own(dir: string): void {
    if (this.id.prefix.length) spawnSync("chown", ["-R", `${this.id.uid}:${this.id.gid}`, dir]);
    else chownSync(dir, this.id.uid, this.id.gid);
  }
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
