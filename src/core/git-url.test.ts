/** Unit tests for git URL normalisation: every form of one repository compares equal. */
import { describe, expect, it } from "vitest";
import { ValidationError } from "./errors.js";
import { normalizeGitUrl, sameRepository } from "./git-url.js";

describe("normalizeGitUrl", () => {
  it.each([
    // the same GitHub repository in every form
    ["https://github.com/owner/repo.git", "github.com/owner/repo"],
    ["https://github.com/owner/repo", "github.com/owner/repo"],
    ["https://github.com/owner/repo/", "github.com/owner/repo"],
    ["https://github.com/owner/repo.git/", "github.com/owner/repo"],
    ["http://github.com/owner/repo", "github.com/owner/repo"],
    ["HTTPS://GitHub.COM/owner/repo.git", "github.com/owner/repo"],
    ["https://github.com:443/owner/repo.git", "github.com/owner/repo"],
    ["http://github.com:80/owner/repo.git", "github.com/owner/repo"],
    ["https://x-access-token:ghs_abc@github.com/owner/repo.git", "github.com/owner/repo"],
    ["https://user:p@ss@github.com/owner/repo", "github.com/owner/repo"],
    ["ssh://git@github.com:22/owner/repo.git", "github.com/owner/repo"],
    ["ssh://git@github.com/owner/repo.git", "github.com/owner/repo"],
    ["git+ssh://git@github.com/owner/repo.git", "github.com/owner/repo"],
    ["ssh+git://git@github.com/owner/repo.git", "github.com/owner/repo"],
    ["git@github.com:owner/repo.git", "github.com/owner/repo"],
    ["git@github.com:/owner/repo.git", "github.com/owner/repo"],
    ["github.com:owner/repo", "github.com/owner/repo"],
    ["git://github.com/owner/repo.git", "github.com/owner/repo"],
    ["git://github.com:9418/owner/repo.git", "github.com/owner/repo"],
    ["https://github.com//owner///repo.git", "github.com/owner/repo"],
    ["https://github.com/owner/repo.git?ref=main#readme", "github.com/owner/repo"],
    ["https://github.com:/owner/repo", "github.com/owner/repo"],
    // path case is kept
    ["https://github.com/Owner/Repo.git", "github.com/Owner/Repo"],
    // non-default http(s) ports are kept; ssh ports never are
    ["https://git.example.com:8443/team/app.git", "git.example.com:8443/team/app"],
    ["http://git.example.com:8080/team/app", "git.example.com:8080/team/app"],
    ["https://git.example.com:80/team/app", "git.example.com:80/team/app"],
    ["ssh://git@git.example.com:2222/team/app.git", "git.example.com/team/app"],
    // GitLab subgroups, Bitbucket Server, Azure DevOps: ordinary handling
    ["git@gitlab.com:group/sub/project.git", "gitlab.com/group/sub/project"],
    ["ssh://git@bitbucket.example.com:7999/proj/repo.git", "bitbucket.example.com/proj/repo"],
    ["https://bitbucket.example.com/scm/proj/repo.git", "bitbucket.example.com/scm/proj/repo"],
    ["https://dev.azure.com/org/project/_git/repo", "dev.azure.com/org/project/_git/repo"],
    ["git@ssh.dev.azure.com:v3/org/project/repo", "ssh.dev.azure.com/v3/org/project/repo"],
    // scp-like paths relative to a home directory
    ["user@host.example:~user/repo.git", "host.example/~user/repo"],
    ["ssh://user@host.example/~user/repo.git", "host.example/~user/repo"],
    // IP and IPv6 hosts
    ["http://192.168.1.10:3000/me/app.git", "192.168.1.10:3000/me/app"],
    ["ssh://git@[::1]:2222/me/app.git", "[::1]/me/app"],
    ["https://[FE80::1]:8443/me/app", "[fe80::1]:8443/me/app"],
    ["git@[::1]:me/app.git", "[::1]/me/app"],
    // local repositories keep `.git`
    ["/srv/git/app.git", "file:///srv/git/app.git"],
    ["/srv/git/app.git/", "file:///srv/git/app.git"],
    ["file:///srv/git/app.git", "file:///srv/git/app.git"],
    ["file://localhost/srv/git/app.git/", "file:///srv/git/app.git"],
    ["FILE:///srv//git/./x/../app.git", "file:///srv/git/app.git"],
    ["/tmp/work/repo", "file:///tmp/work/repo"],
  ])("%s -> %s", (input, expected) => {
    expect(normalizeGitUrl(input)).toBe(expected);
  });

  it.each([
    ["", /it is empty/],
    ["   ", /it is empty/],
    ["not a url", /expected an http\(s\), ssh, git or file URL/],
    ["owner/repo", /expected an http\(s\), ssh, git or file URL/],
    ["./relative/repo", /expected an http\(s\), ssh, git or file URL/],
    ["ftp://example.com/repo.git", /scheme "ftp" is not supported/],
    ["https://", /names no host/],
    ["https:///owner/repo", /names no host/],
    ["https://github.com", /names no repository path/],
    ["https://github.com/", /names no repository path/],
    ["https://github.com/.git", /names no repository path/],
    ["git@github.com:", /names no repository path/],
    ["https://github.com/owner/my repo", /whitespace/],
    ["git@github.com:owner/my repo.git", /whitespace/],
    ["ssh://git@github.com:owner/repo.git", /port "owner" is not a number/],
    ["https://github.com:99999/o/r", /port "99999" is not a number/],
    ["https://git hub.com/o/r", /whitespace/],
    ["https://exa$mple.com/o/r", /host "exa\$mple.com" is not valid/],
    ["file://otherhost/srv/app.git", /must not name a remote host \("otherhost"\)/],
    ["file://", /must be absolute/],
    ["C:\\repos\\app", /Windows paths/],
  ])("rejects %j", (input, message) => {
    const attempt = () => normalizeGitUrl(input);
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(`invalid git URL ${JSON.stringify(input)}`);
  });
});

describe("sameRepository", () => {
  it.each([
    ["https://github.com/Owner/Repo.git", "git@github.com:owner/repo.git", true],
    ["ssh://git@GITHUB.com:22/owner/repo", "https://github.com/owner/repo/", true],
    ["git://github.com/owner/repo", "http://github.com/owner/repo.git", true],
    ["https://github.com/owner/repo", "https://github.com/owner/repo2", false],
    ["https://github.com/owner/repo", "https://gitlab.com/owner/repo", false],
    ["https://git.example.com:8443/a/b", "https://git.example.com/a/b", false],
    ["ssh://git@git.example.com:2222/a/b", "https://git.example.com/a/b", true],
    ["/srv/git/app.git", "file:///srv/git/app.git/", true],
    ["/srv/git/App.git", "/srv/git/app.git", false],
    ["/srv/git/app.git", "/srv/git/app", false],
  ])("%s vs %s -> %s", (a, b, expected) => {
    expect(sameRepository(a, b)).toBe(expected);
    expect(sameRepository(b, a)).toBe(expected);
  });

  it("rejects garbage on either side", () => {
    expect(() => sameRepository("https://github.com/o/r", "nonsense")).toThrow(/invalid git URL "nonsense"/);
  });
});
