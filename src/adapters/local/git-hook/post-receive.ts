/**
 * A git `post-receive` hook that delivers GitHub-format `push` webhooks, so
 * that a plain bare repository on this machine behaves like a hosted one:
 * each pushed ref becomes one signed POST (X-Hub-Signature-256) to the URL in
 * `git config cascade.hookurl`, with the secret in `cascade.hooksecret`.
 * The payload follows the shape of @octokit/webhooks-examples' push events.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { basename, resolve } from "node:path";
import { hmacSha256Hex } from "../../../core/webhook-signature.js";

const ZERO = "0000000000000000000000000000000000000000";

function git(gitDir: string, args: string[]): string {
  return execFileSync("git", ["--git-dir", gitDir, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

function commitJson(gitDir: string, sha: string, repoUrl: string) {
  const [author = "", email = "", date = "", cname = "", cemail = "", ...msg] = git(gitDir, [
    "show",
    "-s",
    "--format=%an%n%ae%n%aI%n%cn%n%ce%n%B",
    sha,
  ]).split("\n");
  const added: string[] = [];
  const removed: string[] = [];
  const modified: string[] = [];
  for (const line of git(gitDir, ["diff-tree", "--no-commit-id", "--name-status", "-r", "--root", sha]).split("\n")) {
    const [status, ...paths] = line.split("\t");
    const p = paths[paths.length - 1];
    if (!status || !p) continue;
    if (status.startsWith("A")) added.push(p);
    else if (status.startsWith("D")) removed.push(p);
    else modified.push(p);
  }
  return {
    id: sha,
    tree_id: git(gitDir, ["rev-parse", `${sha}^{tree}`]),
    distinct: true,
    message: msg.join("\n").trim(),
    timestamp: date,
    url: `${repoUrl}/commit/${sha}`,
    author: { name: author, email, username: author },
    committer: { name: cname, email: cemail, username: cname },
    added,
    removed,
    modified,
  };
}

export function pushPayload(gitDir: string, before: string, after: string, ref: string) {
  const repoPath = resolve(gitDir);
  const cloneUrl = `file://${repoPath}`;
  const name = basename(repoPath).replace(/\.git$/, "");
  const deleted = after === ZERO;
  const created = before === ZERO;
  let shas: string[] = [];
  if (!deleted) {
    // A new ref lists its head commit only; an update lists the commits it adds (at most 20, as GitHub).
    shas = created ? [after] : git(gitDir, ["rev-list", "--reverse", "--max-count=20", `${before}..${after}`]).split("\n").filter(Boolean);
    if (shas.length === 0) shas = [after];
  }
  const commits = shas.map((s) => commitJson(gitDir, s, cloneUrl));
  let defaultBranch = "main";
  try {
    defaultBranch = git(gitDir, ["symbolic-ref", "--short", "HEAD"]);
  } catch {
    /* detached or empty */
  }
  const pusher = process.env.USER ?? "git";
  return {
    ref,
    before,
    after,
    created,
    deleted,
    forced: false,
    base_ref: null,
    compare: `${cloneUrl}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
    commits,
    head_commit: deleted ? null : commits[commits.length - 1] ?? null,
    repository: {
      id: 0,
      name,
      full_name: `local/${name}`,
      private: true,
      html_url: cloneUrl,
      clone_url: cloneUrl,
      git_url: cloneUrl,
      ssh_url: cloneUrl,
      url: cloneUrl,
      default_branch: defaultBranch,
      master_branch: defaultBranch,
    },
    pusher: { name: pusher, email: `${pusher}@localhost` },
    sender: { login: pusher },
  };
}

async function main() {
  const gitDir = process.env.GIT_DIR ?? ".";
  const url = git(gitDir, ["config", "cascade.hookurl"]);
  const secret = git(gitDir, ["config", "cascade.hooksecret"]);
  let input = "";
  for await (const c of process.stdin) input += String(c);
  for (const line of input.split("\n").filter(Boolean)) {
    const [before = ZERO, after = ZERO, ref = ""] = line.split(" ");
    const body = JSON.stringify(pushPayload(gitDir, before, after, ref));
    const delivery = randomUUID();
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/cascade-local",
        "x-github-event": "push",
        "x-github-delivery": delivery,
        "x-hub-signature-256": `sha256=${hmacSha256Hex(secret, body)}`,
      },
      body,
    }).catch((e: Error) => ({ status: 0, text: async () => e.message }));
    const text = await res.text();
    process.stderr.write(`cascade: webhook for ${ref} -> HTTP ${res.status} ${text.replace(/\s+/g, " ").slice(0, 300)}\n`);
  }
}

if (process.argv[1] && /post-receive\.(js|ts)$/.test(process.argv[1])) void main();
