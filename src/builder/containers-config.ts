/**
 * The two containers-tools files a rootless buildah needs per build:
 * `auth.json` (credentials per registry host) and `registries.conf` (which
 * hosts are plain http). Shared by the builder, the image runner and the
 * benchmark, so they all talk to registries the same way.
 */
export type HostAuth = { username: string; password: string } | { token: string };

export function authJson(auth: Record<string, HostAuth>): string {
  const auths: Record<string, { auth?: string; identitytoken?: string }> = {};
  for (const [host, cred] of Object.entries(auth)) {
    auths[host] =
      "token" in cred ? { identitytoken: cred.token } : { auth: Buffer.from(`${cred.username}:${cred.password}`).toString("base64") };
  }
  return JSON.stringify({ auths });
}

export function registriesConf(insecureHosts: readonly string[]): string {
  return [
    "unqualified-search-registries = []",
    ...insecureHosts.map((h) => `\n[[registry]]\nlocation = ${JSON.stringify(h)}\ninsecure = true`),
  ].join("\n");
}
