/**
 * Local git repositories for the demo and tests: a bare repository whose
 * post-receive hook delivers signed GitHub-format pushes, and a working
 * clone to commit to and `git push` from. Real git throughout.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Cascade Demo",
  GIT_AUTHOR_EMAIL: "demo@cascade.invalid",
  GIT_COMMITTER_NAME: "Cascade Demo",
  GIT_COMMITTER_EMAIL: "demo@cascade.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
};

export function git(cwd: string, args: string[]): string {
  return execFileSync("git", args, { cwd, env: GIT_ENV, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

function hookScriptPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // From source (vitest) use the compiled hook, so the hook needs no TypeScript loader.
  return here.includes("/dist/")
    ? join(here, "git-hook", "post-receive.js")
    : resolve(here, "../../../dist/src/adapters/local/git-hook/post-receive.js");
}

/** Create a bare repository (default branch main) and, with a hook URL, its webhook hook. */
export function initBareRepo(path: string, hook?: { url: string; secret: string }): string {
  mkdirSync(path, { recursive: true });
  git(path, ["init", "--quiet", "--bare", "--initial-branch=main"]);
  if (hook) {
    git(path, ["config", "cascade.hookurl", hook.url]);
    git(path, ["config", "cascade.hooksecret", hook.secret]);
    const file = join(path, "hooks", "post-receive");
    writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${hookScriptPath()}"\n`);
    chmodSync(file, 0o755);
  }
  return resolve(path);
}

/** Clone a bare repository into `dir` (an empty repository is fine). */
export function cloneRepo(bare: string, dir: string): string {
  mkdirSync(dirname(dir), { recursive: true });
  execFileSync("git", ["clone", "--quiet", bare, dir], { env: GIT_ENV, stdio: "pipe" });
  git(dir, ["checkout", "--quiet", "-B", "main"]);
  return dir;
}

/** Write files, commit them and return the commit id. */
export function commitFiles(dir: string, files: Record<string, string | Buffer>, message: string, mode?: Record<string, number>): string {
  for (const [name, content] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
    if (mode?.[name]) chmodSync(p, mode[name]);
  }
  git(dir, ["add", "--all"]);
  git(dir, ["commit", "--quiet", "-m", message]);
  return git(dir, ["rev-parse", "HEAD"]);
}

/**
 * `git push`, asynchronously: the bare repository's hook calls back into a
 * server that may live in this very process, so the event loop must stay
 * free while git waits for its hook. Resolves with git's stderr, which
 * carries the hook's output.
 */
export function push(dir: string, refspec = "main", extra: string[] = []): Promise<string> {
  return new Promise((resolvePush, reject) => {
    const child = spawn("git", ["push", "--quiet", ...extra, "origin", refspec], { cwd: dir, env: GIT_ENV, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stdout.resume();
    child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolvePush(err) : reject(new Error(`git push ${refspec} failed (${code}): ${err.trim()}`))));
  });
}
