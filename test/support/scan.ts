/**
 * Test helper: look for secret bytes where they must never be. Reads every
 * blob of a pushed image (config and layers, gunzipped when gzipped) from
 * the registry with raw HTTP, and every file under a folder.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export interface RegistryAccess {
  /** `host:port` */
  registry: string;
  credentials: { username: string; password: string };
}

const auth = (a: RegistryAccess) => ({ authorization: `Basic ${Buffer.from(`${a.credentials.username}:${a.credentials.password}`).toString("base64")}` });

/** Every blob of `repository@digest` (following an index), as the bytes a reader of the image sees. */
export async function imageBlobs(a: RegistryAccess, repository: string, digest: string): Promise<{ digest: string; bytes: Buffer }[]> {
  const get = async (path: string, accept?: string) => {
    const res = await fetch(`http://${a.registry}/v2/${repository}/${path}`, { headers: { ...auth(a), ...(accept ? { accept } : {}) } });
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };
  const accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json";
  const out: { digest: string; bytes: Buffer }[] = [];
  const walk = async (d: string) => {
    const raw = await get(`manifests/${d}`, accept);
    out.push({ digest: d, bytes: raw });
    const m = JSON.parse(raw.toString("utf8")) as { manifests?: { digest: string }[]; config?: { digest: string }; layers?: { digest: string }[] };
    for (const child of m.manifests ?? []) await walk(child.digest);
    for (const b of [...(m.config ? [m.config] : []), ...(m.layers ?? [])]) {
      const bytes = await get(`blobs/${b.digest}`);
      out.push({ digest: b.digest, bytes: bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes });
    }
  };
  await walk(digest);
  return out;
}

/** Files under `dir` (recursively) whose bytes, gunzipped when gzipped (registry blobs), contain `needle`. */
export function filesContaining(dir: string, needle: Buffer): string[] {
  const hits: string[] = [];
  const walk = (p: string) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) walk(join(p, e));
    } else if (st.isFile()) {
      try {
        const bytes = readFileSync(p);
        const plain = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
        if (plain.includes(needle) || bytes.includes(needle)) hits.push(p);
      } catch {
        /* unreadable */
      }
    }
  };
  walk(dir);
  return hits;
}
