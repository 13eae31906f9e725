/**
 * Fetch the build's source with real git: the exact commit when the event
 * named one, else the tip of the ref. Credentials for private sources plug in
 * here (sourceSecret) through git's environment, never the command line.
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

export async function fetchSource(
  src: { uri: string; ref?: string; commit?: string },
  dir: string,
  log: LogSink,
): Promise<FetchedSource> {
  await mkdir(dir, { recursive: true });
  const env = await gitEnv(dirname(dir));
  const git = async (args: string[], quiet = false) => {
    const r = await exec("git", args, { cwd: dir, env, log, quiet });
    return r;
  };
  const fail = (what: string, tail: string[]) => {
    throw new StepFailed("FetchSourceFailed", `${what}: ${errorLine(tail)}`);
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
