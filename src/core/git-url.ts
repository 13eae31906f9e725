/**
 * Git repository URL normalisation, so that the https, http, ssh, scp-like
 * (`git@host:owner/repo.git`) and `git://` forms of one repository compare
 * equal. Remote URLs normalise to `host[:port]/path` (a port is kept only when
 * it is a non-default http(s) port); local repositories normalise to
 * `file:///abs/path`. Pure: no I/O.
 */
import { ValidationError } from "./errors.js";

/** Schemes whose port is meaningful, with their default port. */
const HTTP_SCHEMES: Record<string, string> = { http: "80", https: "443", "git+http": "80", "git+https": "443" };
/** Schemes whose port is always dropped: the same repository is served on a different port over http(s). */
const PORTLESS_SCHEMES = new Set(["ssh", "git+ssh", "ssh+git", "git"]);

const HOST_RE = /^(?:[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?|\[[0-9a-f:.]+\])$/;

function invalid(url: string, why: string): never {
  throw new ValidationError(`invalid git URL ${JSON.stringify(url)}: ${why}`);
}

/** `host[:port]/owner/repo`: collapses slashes, drops the trailing `/` and `.git`. */
function remoteKey(url: string, rawHost: string, port: string | undefined, rawPath: string): string {
  const host = rawHost.toLowerCase();
  if (!HOST_RE.test(host)) invalid(url, `host ${JSON.stringify(rawHost)} is not valid`);
  if (/\s/.test(rawPath)) invalid(url, "the path contains whitespace");
  let path = rawPath.replace(/\/{2,}/g, "/").replace(/^\//, "").replace(/\/$/, "");
  if (path.endsWith(".git")) path = path.slice(0, -".git".length).replace(/\/$/, "");
  if (path === "" || path === "/") invalid(url, "it names no repository path");
  return `${host}${port === undefined ? "" : `:${port}`}/${path}`;
}

/** `file:///abs/path`: collapses slashes, resolves `.` and `..`, drops a trailing `/`. Keeps `.git`. */
function fileKey(url: string, path: string): string {
  if (!path.startsWith("/")) invalid(url, "a local repository path must be absolute");
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return `file:///${out.join("/")}`;
}

/**
 * Normalises a git repository URL: `https://GitHub.com/owner/repo.git`,
 * `git@github.com:owner/repo.git` and `ssh://git@github.com:22/owner/repo`
 * all become `github.com/owner/repo`; `/srv/git/app.git` and
 * `file://localhost/srv/git/app.git/` become `file:///srv/git/app.git`.
 * Path case is kept; see {@link sameRepository} for comparison.
 */
export function normalizeGitUrl(url: string): string {
  if (url.trim() === "") invalid(url, "it is empty");

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (scheme !== null) {
    const name = (scheme[1] as string).toLowerCase();
    const rest = url.slice(scheme[0].length);
    if (name === "file") {
      const slash = rest.indexOf("/");
      const host = slash < 0 ? rest : rest.slice(0, slash);
      if (host !== "" && host.toLowerCase() !== "localhost") {
        invalid(url, `a file URL must not name a remote host (${JSON.stringify(host)})`);
      }
      return fileKey(url, slash < 0 ? "" : rest.slice(slash));
    }
    const defaultPort = HTTP_SCHEMES[name];
    if (defaultPort === undefined && !PORTLESS_SCHEMES.has(name)) invalid(url, `scheme ${JSON.stringify(name)} is not supported`);
    if (/\s/.test(url)) invalid(url, "it contains whitespace");
    const beforeQuery = rest.replace(/[?#].*$/, "");
    const slash = beforeQuery.indexOf("/");
    const authority = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash);
    const path = slash < 0 ? "" : beforeQuery.slice(slash);
    const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
    const parts = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort);
    const host = parts?.[1] ?? "";
    let port = parts?.[2] === "" ? undefined : parts?.[2];
    if (host === "") invalid(url, "it names no host");
    if (port !== undefined) {
      if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) invalid(url, `port ${JSON.stringify(port)} is not a number`);
      port = String(Number(port));
      if (port === "0") invalid(url, "port 0 is not valid");
    }
    const keptPort = defaultPort === undefined || port === defaultPort ? undefined : port;
    return remoteKey(url, host, keptPort, path);
  }

  if (url.startsWith("/")) return fileKey(url, url);
  if (/^[A-Za-z]:[\\/]/.test(url)) invalid(url, "Windows paths are not supported");

  // scp-like syntax, as git reads it: a ':' before any '/' means [user@]host:path.
  const scp = /^(?:[^@/]*@)?(\[[^\]]+\]|[^/:@]+):(.*)$/.exec(url);
  if (scp !== null) {
    if (/\s/.test(url)) invalid(url, "it contains whitespace");
    return remoteKey(url, scp[1] as string, undefined, scp[2] as string);
  }
  return invalid(url, "expected an http(s), ssh, git or file URL, an scp-like user@host:path, or an absolute path");
}

/**
 * Whether two URLs name the same repository. Remote URLs compare
 * case-insensitively (GitHub, GitLab and Bitbucket paths are); local paths
 * compare exactly, as file systems are case-sensitive.
 */
export function sameRepository(a: string, b: string): boolean {
  const x = normalizeGitUrl(a);
  const y = normalizeGitUrl(b);
  if (x.startsWith("file://") || y.startsWith("file://")) return x === y;
  return x.toLowerCase() === y.toLowerCase();
}
