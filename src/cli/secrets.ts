/**
 * `cascade secret create|list|delete` and `cascade configmap create|list|delete`,
 * in kubectl's shapes (`--from-file KEY=PATH`, `--from-file PATH`,
 * `--from-literal KEY=VALUE`). They act on CASCADE_HOME's secret store
 * directly, so no value crosses the API; a running `cascade up` reads them
 * from there when a build needs them. Listing shows names and keys only.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { ValidationError } from "../core/errors.js";
import { FileSecretStore } from "../adapters/local/file-secret-store.js";
import { SecretKey, type SecretKind } from "../ports/secret-store.js";

export interface SecretCommand {
  kind: SecretKind;
  action: string | undefined;
  name: string | undefined;
  namespace: string;
  fromFile: string[];
  fromLiteral: string[];
  type: string | undefined;
  json: boolean;
  home: string;
}

function key(k: string, flag: string): string {
  const r = SecretKey.safeParse(k);
  if (!r.success) throw new ValidationError(`${flag}: ${r.error.issues[0]!.message}`);
  return k;
}

/** The data of `--from-file` and `--from-literal`, with errors that name the flag and value. */
export function secretData(fromFile: readonly string[], fromLiteral: readonly string[]): Record<string, Buffer> {
  const data: Record<string, Buffer> = {};
  const add = (k: string, v: Buffer, flag: string) => {
    if (Object.hasOwn(data, k)) throw new ValidationError(`${flag}: key "${k}" is given twice`);
    data[k] = v;
  };
  for (const f of fromFile) {
    const eq = f.indexOf("=");
    const [k, path] = eq < 0 ? [basename(f), f] : [f.slice(0, eq), f.slice(eq + 1)];
    const flag = `--from-file ${f}`;
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new ValidationError(`${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    add(key(k, flag), bytes, flag);
  }
  for (const l of fromLiteral) {
    const eq = l.indexOf("=");
    const flag = `--from-literal ${eq < 0 ? l : `${l.slice(0, eq)}=...`}`;
    if (eq <= 0) throw new ValidationError(`${flag}: expected KEY=VALUE`);
    add(key(l.slice(0, eq), flag), Buffer.from(l.slice(eq + 1), "utf8"), flag);
  }
  return data;
}

export async function runSecretCommand(c: SecretCommand, out: (s: string) => void): Promise<number> {
  const noun = c.kind === "Secret" ? "secret" : "configmap";
  const store = new FileSecretStore(c.home);
  switch (c.action) {
    case "create": {
      if (!c.name) throw new ValidationError(`${noun} create needs a NAME`);
      const data = secretData(c.fromFile, c.fromLiteral);
      if (Object.keys(data).length === 0) throw new ValidationError(`${noun} create ${c.name} needs --from-file KEY=PATH or --from-literal KEY=VALUE`);
      const r = await store.put({ kind: c.kind, namespace: c.namespace, name: c.name, ...(c.type ? { type: c.type } : {}), data }, new Date().toISOString());
      const keys = Object.keys(data).sort();
      if (c.json) out(JSON.stringify({ kind: c.kind, namespace: c.namespace, name: c.name, keys, created: r.created }, null, 2));
      else out(`${noun} ${c.namespace}/${c.name} ${r.created ? "created" : "replaced"} (keys: ${keys.join(", ")})`);
      return 0;
    }
    case "list": {
      const list = await store.list({ kind: c.kind, ...(c.namespace !== "" ? { namespace: c.namespace } : {}) });
      if (c.json) out(JSON.stringify(list, null, 2));
      else if (list.length === 0) out(`no ${noun}s`);
      else for (const s of list) out(`${s.namespace}/${s.name}${s.type ? ` (${s.type})` : ""}  keys: ${s.keys.join(", ")}`);
      return 0;
    }
    case "delete": {
      if (!c.name) throw new ValidationError(`${noun} delete needs a NAME`);
      const gone = await store.delete({ kind: c.kind, namespace: c.namespace, name: c.name });
      if (!gone) {
        process.stderr.write(`error: ${noun} "${c.namespace}/${c.name}" not found\n`);
        return 1;
      }
      out(`${noun} ${c.namespace}/${c.name} deleted`);
      return 0;
    }
    default:
      throw new ValidationError(`unknown ${noun} command "${c.action ?? ""}"; use ${noun} create, list or delete`);
  }
}
