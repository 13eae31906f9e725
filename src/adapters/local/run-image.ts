/**
 * Run a built image's command once, rootless: as the builder user, in fresh
 * storage, with `buildah from` + `buildah run --isolation chroot`. Used by
 * the demo to show the app's output and by tests to check what was built.
 */
import { spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authJson, registriesConf } from "../../builder/containers-config.js";
import { CascadeError } from "../../core/errors.js";
import type { BuilderIdentity } from "./builder-user.js";

export interface RunImageOptions {
  identity: BuilderIdentity;
  image: string;
  /** Command to run; default the image's CMD via `buildah run` with the config's command. */
  command: string[];
  auth: Record<string, { username: string; password: string }>;
  insecure: string[];
}

export function runImage(o: RunImageOptions): { code: number; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "cascade-run-"));
  const own = (p: string) => {
    if (o.identity.prefix.length) chownSync(p, o.identity.uid, o.identity.gid);
  };
  own(dir);
  const authFile = join(dir, "auth.json");
  writeFileSync(authFile, authJson(o.auth), { mode: 0o600 });
  own(authFile);
  const regConf = join(dir, "registries.conf");
  writeFileSync(regConf, registriesConf(o.insecure));
  own(regConf);
  const flags = ["--root", join(dir, "storage"), "--runroot", join(dir, "runroot"), "--storage-driver", "vfs"];
  const env = `CONTAINERS_REGISTRIES_CONF=${regConf}`;
  const run = (args: string[]) =>
    spawnSync(o.identity.prefix[0] ?? "env", [...o.identity.prefix.slice(1), ...(o.identity.prefix.length ? ["env"] : []), env, "buildah", ...flags, ...args], {
      encoding: "utf8",
      cwd: dir,
    });
  try {
    const from = run(["from", "--quiet", "--authfile", authFile, `docker://${o.image}`]);
    if (from.status !== 0) throw new CascadeError("RunImageFailed", `buildah from ${o.image} failed: ${from.stderr.trim()}`);
    const ctr = from.stdout.trim().split("\n").pop()!;
    const r = run(["run", "--isolation", "chroot", ctr, "--", ...o.command]);
    return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    run(["unshare", "rm", "-rf", join(dir, "storage"), join(dir, "runroot")]);
    rmSync(dir, { recursive: true, force: true });
  }
}
