/**
 * Fetch the build's source with real git: the exact commit when the event
 * named one, else the tip of the ref. Credentials for private sources
 * (`spec.source.sourceSecret`) reach git through files in the build's work
 * folder and the environment of the git processes alone, never the command
 * line, the remote URL or the log:
 * - `username`/`password` (basic auth; a token as `password` alone): an
 *   askpass program that prints them from its environment;
 * - `ssh-privatekey` (and `known_hosts`): a key file and `GIT_SSH_COMMAND`;
 * - `ca.crt`: `GIT_SSL_CAINFO`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { exec, StepFailed, errorLine, type LogSink } from "./exec.js";

export interface FetchedSource {
  dir: string;
  commit: string;
  author: string;
  date: string;
  message: string;
  /** The commit's committer time, in seconds since the epoch: the build's SOURCE_DATE_EPOCH. */
  epoch: number;
}

/**
 * git's environment: no prompts, no system config, and a global config of
 * the build's own. It accepts repositories owned by another user
 * (safe.directory): the builder is unprivileged and local repositories belong
 * to whoever pushed. Command-line config would not do, since git clears it
 * for the upload-pack of a local fetch.
 */
export async function gitEnv(workDir: string, extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const globalConfig = join(workDir, "gitconfig");
  await writeFile(globalConfig, "[safe]\n\tdirectory = *\n[advice]\n\tdetachedHead = false\n[init]\n\tdefaultBranch = main\n");
  return { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: globalConfig, ...extra };
}

/** The user name sent with a token-only secret (`password` and no `username`); most servers ignore it. */
export const TOKEN_USERNAME = "git";

/**
 * git's environment for a sourceSecret's keys, writing what it needs under
 * `workDir` (mode 0600, or 0700 for the askpass program).
 */
export async function gitCredentialEnv(data: Record<string, Buffer>, workDir: string, uri: string): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {};
  const text = (k: string) => data[k]?.toString("utf8");
  const password = text("password");
  const username = text("username");
  const sshKey = data["ssh-privatekey"];
  if (password === undefined && username !== undefined) {
    throw new StepFailed("FetchSourceFailed", `sourceSecret has a username but no password (or token) for ${uri}`);
  }
  if (password !== undefined) {
    const askpass = join(workDir, "git-askpass");
    await writeFile(askpass, `#!/bin/sh
case "$1" in
  Username*) printf '%s\n' "$CASCADE_GIT_USERNAME" ;;
  *) printf '%s\n' "$CASCADE_GIT_PASSWORD" ;;
esac
`, { mode: 0o700 });
    Object.assign(env, { GIT_ASKPASS: askpass, CASCADE_GIT_USERNAME: username ?? TOKEN_USERNAME, CASCADE_GIT_PASSWORD: password });
  }
  if (sshKey !== undefined) {
    const keyFile = join(workDir, "ssh-key");
    const known = join(workDir, "ssh-known-hosts");
    await writeFile(keyFile, sshKey.toString("utf8").replace(/\r?\n?$/, "\n"), { mode: 0o600 });
    await writeFile(known, data["known_hosts"] ?? "", { mode: 0o600 });
    const strict = data["known_hosts"] ? "yes" : "accept-new";
    env.GIT_SSH_COMMAND = `ssh -i ${keyFile} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=${strict} -o UserKnownHostsFile=${known}`;
  }
  if (data["ca.crt"] !== undefined) {
    const ca = join(workDir, "git-ca.crt");
    await writeFile(ca, data["ca.crt"], { mode: 0o600 });
    env.GIT_SSL_CAINFO = ca;
  }
  if (Object.keys(env).length === 0) {
    throw new StepFailed("FetchSourceFailed", `sourceSecret has none of the keys username/password, password (a token), ssh-privatekey or ca.crt`);
  }
  return env;
}

export async function fetchSource(
  src: { uri: string; ref?: string; commit?: string },
  dir: string,
  log: LogSink,
  credentials?: { name: string; data: Record<string, Buffer> },
): Promise<FetchedSource> {
  await mkdir(dir, { recursive: true });
  const extra = credentials ? await gitCredentialEnv(credentials.data, dirname(dir), src.uri) : {};
  if (credentials) log(`--> Source credentials from secret ${credentials.name}`);
  const env = await gitEnv(dirname(dir), extra);
  const git = async (args: string[], quiet = false) => {
    const r = await exec("git", args, { cwd: dir, env, log, quiet });
    return r;
  };
  const fail = (what: string, tail: string[]) => {
    const line = errorLine(tail);
    const hint =
      /authentication failed|could not read Username|terminal prompts disabled|Permission denied \(publickey|HTTP 401|HTTP 403/i.test(line)
        ? credentials
          ? ` (the credentials in secret ${credentials.name} were refused)`
          : " (the repository needs credentials: set spec.source.sourceSecret)"
        : "";
    throw new StepFailed("FetchSourceFailed", `${what}: ${line}${hint}`);
  };
  let r = await git(["init", "--quiet"], true);
  if (r.code !== 0) fail("git init failed", r.tail);
  r = await git(["remote", "add", "origin", src.uri], true);
  if (r.code !== 0) fail("git remote add failed", r.tail);
  const want = src.commit || (src.ref ? src.ref : "HEAD");
  log(`--> Fetching ${src.uri} ${src.commit ? `at commit ${src.commit}` : `at ${want}`}`);
  r = await git(["fetch", "--quiet", "--depth", "1", "origin", want]);
  if (r.code !== 0 && src.commit) {
    // Some servers refuse to serve an unadvertised commit: fetch the ref (or everything) and check it out.
    log(`--> Commit fetch refused, fetching ${src.ref ?? "all refs"} instead`);
    r = await git(["fetch", "--quiet", "origin", ...(src.ref ? [src.ref] : ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"])]);
  }
  if (r.code !== 0) fail(`cannot fetch ${want} from ${src.uri}`, r.tail);
  r = await git(["checkout", "--quiet", src.commit || "FETCH_HEAD"]);
  if (r.code !== 0) fail(`cannot check out ${src.commit ?? want}`, r.tail);
  const info = await exec("git", ["log", "-1", "--format=%H%n%ct%n%an <%ae>%n%aI%n%B"], { cwd: dir, env, log, captureStdout: true });
  if (info.code !== 0) fail("git log failed", info.tail);
  const [commit = "", epoch = "", author = "", date = "", ...message] = info.stdout.split("\n");
  log(`--> Commit ${commit}: ${message[0] ?? ""}`);
  return { dir, commit, author, date, message: message.join("\n").trim(), epoch: Number(epoch) };
}
