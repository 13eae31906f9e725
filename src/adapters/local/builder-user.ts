/**
 * The unprivileged user that runs builds. When Cascade runs as root it
 * creates `cascade-builder` (useradd -m gives it subuid/subgid ranges) and
 * drops to it with setpriv, which execs directly so that no root process
 * stays in the builder's tree. When Cascade runs as a normal user, builds run
 * as that user, which then needs its own subuid range.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { CascadeError } from "../../core/errors.js";

export interface BuilderIdentity {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Command prefix that runs a program as this user (empty when already that user). */
  prefix: string[];
}

export const DEFAULT_BUILDER_USER = "cascade-builder";

function lookup(name: string): { uid: number; gid: number; home: string } | undefined {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.split(":")[0] === name);
  if (!line) return undefined;
  const f = line.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? "/" };
}

function hasSubIds(name: string, uid: number): boolean {
  const ok = (file: string) => {
    try {
      return readFileSync(file, "utf8")
        .split("\n")
        .some((l) => {
          const [who, , count] = l.split(":");
          return (who === name || who === String(uid)) && Number(count) >= 65536;
        });
    } catch {
      return false;
    }
  };
  return ok("/etc/subuid") && ok("/etc/subgid");
}

/** The first id above every range in /etc/subuid and /etc/subgid (at least 100000). */
export function nextFreeSubId(files = ["/etc/subuid", "/etc/subgid"]): number {
  let next = 100000;
  for (const file of files) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const [, start, count] = line.split(":");
      if (start && count) next = Math.max(next, Number(start) + Number(count));
    }
  }
  return next;
}

export function ensureBuilderIdentity(userName = process.env.CASCADE_BUILDER_USER ?? DEFAULT_BUILDER_USER): BuilderIdentity {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) {
    const name = process.env.USER ?? String(uid);
    if (!hasSubIds(name, uid)) {
      throw new CascadeError(
        "BuilderUserMissingSubIds",
        `user "${name}" has no subuid/subgid range in /etc/subuid and /etc/subgid; rootless buildah needs one (run "cascade up" once as root, or add a 65536-id range)`,
      );
    }
    return { name, uid, gid: process.getgid?.() ?? uid, home: process.env.HOME ?? "/tmp", prefix: [] };
  }
  let u = lookup(userName);
  if (!u) {
    try {
      execFileSync("useradd", ["--create-home", "--shell", "/usr/sbin/nologin", "--comment", "Cascade rootless builder", userName], {
        stdio: "pipe",
      });
    } catch (e) {
      throw new CascadeError("BuilderUserCreateFailed", `cannot create builder user "${userName}": ${(e as Error).message}`, { cause: e });
    }
    u = lookup(userName);
    if (!u) throw new CascadeError("BuilderUserCreateFailed", `builder user "${userName}" not found after useradd`);
  }
  if (!hasSubIds(userName, u.uid)) {
    // useradd normally assigns ranges itself; when it did not, take the next free 65536 ids.
    const start = nextFreeSubId();
    const range = `${start}-${start + 65535}`;
    try {
      execFileSync("usermod", ["--add-subuids", range, "--add-subgids", range, userName], { stdio: "pipe" });
    } catch (e) {
      throw new CascadeError(
        "BuilderUserMissingSubIds",
        `builder user "${userName}" has no subuid/subgid range and usermod failed: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  if (u.uid === 0) throw new CascadeError("BuilderUserIsRoot", `builder user "${userName}" has uid 0; builds never run as root`);
  return {
    name: userName,
    ...u,
    prefix: ["setpriv", `--reuid=${u.uid}`, `--regid=${u.gid}`, "--init-groups", "--reset-env", "--"],
  };
}
