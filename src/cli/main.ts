/**
 * The `cascade` command. Every read command takes --json. Errors print a
 * message (no stack trace unless CASCADE_DEBUG is set) and exit non-zero:
 * 2 for invalid input, 1 for everything else.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Build } from "../core/build.js";
import { loadBuildConfigs } from "../core/buildconfig-load.js";
import type { BuildConfig } from "../core/buildconfig.js";
import { CascadeError, NotFoundError, ValidationError } from "../core/errors.js";
import { parseDuration } from "../core/duration.js";
import type { CachePruneResult } from "../runtime/cache-prune.js";
import { Client } from "./client.js";
import { runDemo } from "./demo.js";
import { runUp } from "./up.js";
import { webhookSetup } from "./hooks.js";
import { runSecretCommand } from "./secrets.js";
import { formatBuilds, formatGraph, formatPlan, printLogStream, settings, type GraphResponse, type PlanResponse } from "./util.js";

const USAGE = `cascade: event-driven image builds on rootless buildah

Usage:
  cascade up [--port N] [--registry-port N] [--home DIR] [--cache-ttl 168h] [--no-layer-cache]
                                                           start the local stack (foreground)
  cascade demo [--home DIR]                                the whole story, end to end
  cascade apply -f FILE|DIR [-f ...]                        validate and store BuildConfigs
  cascade start-build NAME [-n NS] [--commit SHA] [--follow]
  cascade builds [-n NS] [--json]
  cascade logs BUILD [--follow]
  cascade cancel BUILD
  cascade plan --image REF@DIGEST | --push REPO BRANCH | --event FILE [--json]   dry run: waves and reasons
  cascade hooks NAME [-n NS] [--json]                      webhook URLs and secrets to paste into each provider
  cascade graph [--json]                                   the image dependency graph
  cascade subscribe URL [--secret S] [--mode binary|structured]
  cascade registry login                                   credentials of the local registry
  cascade cache prune [--older-than 168h] [--json]         delete layer cache entries older than that (default: --cache-ttl)
  cascade secret create NAME [-n NS] [--from-file [KEY=]PATH]... [--from-literal KEY=VALUE]... [--type T]
  cascade secret list [-n NS] [--json]                     names and keys, never values
  cascade secret delete NAME [-n NS]
  cascade configmap create|list|delete ...                 the same, for ConfigMaps (build volumes)

Environment: CASCADE_HOME (./.cascade), CASCADE_PORT (7070), CASCADE_REGISTRY_PORT (5000), CASCADE_URL,
CASCADE_CACHE_TTL, CASCADE_LAYER_CACHE (on|off).
`;

function collectFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new ValidationError(`-f ${path}: no such file or directory`);
  }
  if (!st.isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => /\.(ya?ml|json)$/i.test(f))
    .sort()
    .map((f) => join(path, f));
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      follow: { type: "boolean", short: "F", default: false },
      file: { type: "string", short: "f", multiple: true },
      namespace: { type: "string", short: "n" },
      commit: { type: "string" },
      port: { type: "string" },
      "registry-port": { type: "string" },
      home: { type: "string" },
      url: { type: "string" },
      secret: { type: "string" },
      mode: { type: "string" },
      limit: { type: "string" },
      image: { type: "string" },
      push: { type: "string" },
      event: { type: "string" },
      "cache-ttl": { type: "string" },
      "no-layer-cache": { type: "boolean", default: false },
      "older-than": { type: "string" },
      "from-file": { type: "string", multiple: true },
      "from-literal": { type: "string", multiple: true },
      type: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const cfg = settings(values);
  const client = new Client(cfg.url);
  const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : s + "\n");
  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      out(USAGE);
      return command === undefined ? 2 : 0;
    case "up":
      return runUp(cfg);
    case "demo":
      return runDemo(cfg);
    case "apply": {
      if (!values.file?.length) throw new ValidationError("apply needs -f FILE or -f DIR");
      const items: unknown[] = [];
      for (const f of values.file.flatMap(collectFiles)) {
        const { configs, warnings } = loadBuildConfigs(f, readFileSync(f, "utf8"));
        for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
        items.push(...configs);
      }
      if (items.length === 0) throw new ValidationError(`no BuildConfig found in ${values.file.join(", ")}`);
      const { results } = await client.request<{ results: { namespace: string; name: string; created: boolean; build?: string }[] }>(
        "POST",
        "/buildconfigs",
        { items },
      );
      if (values.json) out(JSON.stringify(results, null, 2));
      else
        for (const r of results)
          out(`buildconfig ${r.namespace}/${r.name} ${r.created ? "created" : "configured"}${r.build ? ` (build ${r.build} queued by ConfigChange)` : ""}`);
      return 0;
    }
    case "start-build": {
      const name = positionals[0];
      if (!name) throw new ValidationError("start-build needs a BuildConfig NAME");
      const ns = values.namespace ?? "default";
      const build = await client.request<Build>("POST", `/buildconfigs/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/instantiate`, {
        ...(values.commit ? { commit: values.commit } : {}),
      });
      if (!values.follow) {
        out(values.json ? JSON.stringify(build, null, 2) : `build ${build.namespace}/${build.id} queued`);
        return 0;
      }
      process.stderr.write(`build ${build.namespace}/${build.id} queued; following its log\n`);
      return followToEnd(client, `${build.namespace}/${build.id}`, values.json, out);
    }
    case "builds": {
      const q = new URLSearchParams();
      if (values.namespace) q.set("namespace", values.namespace);
      if (values.limit) q.set("limit", values.limit);
      const { builds } = await client.request<{ builds: Build[] }>("GET", `/builds?${q}`);
      out(values.json ? JSON.stringify(builds, null, 2) : formatBuilds(builds));
      return 0;
    }
    case "logs": {
      const id = positionals[0];
      if (!id) throw new ValidationError("logs needs a BUILD id");
      if (values.follow) return followToEnd(client, id, false, out, true);
      await printLogStream(client, id, false);
      return 0;
    }
    case "cancel": {
      const id = positionals[0];
      if (!id) throw new ValidationError("cancel needs a BUILD id");
      const b = await client.request<Build>("POST", `/builds/${encodeURIComponent(id)}/cancel`);
      out(`build ${b.namespace}/${b.id} cancelling`);
      return 0;
    }
    case "plan": {
      let body: unknown;
      if (values.image) body = { image: values.image };
      else if (values.push) {
        if (!positionals[0]) throw new ValidationError("plan --push needs REPO BRANCH");
        body = { repository: values.push, branch: positionals[0] };
      } else if (values.event) {
        let event: unknown;
        try {
          event = JSON.parse(readFileSync(values.event, "utf8"));
        } catch (e) {
          throw new ValidationError(`--event ${values.event}: ${(e as Error).message}`);
        }
        body = { event };
      } else throw new ValidationError("plan needs --image REF@DIGEST, --push REPO BRANCH or --event FILE");
      const res = await client.request<PlanResponse | { plans: (PlanResponse & { image: string })[]; ignored: { eventId: string; reason: string }[] }>("POST", "/plan", body);
      if (values.json) out(JSON.stringify(res, null, 2));
      else if ("plans" in res) {
        for (const p of res.plans) out(`image ${p.image}\n${formatPlan(p)}`);
        for (const i of res.ignored) out(`ignored event ${i.eventId}: ${i.reason}`);
      } else out(formatPlan(res));
      return 0;
    }
    case "hooks": {
      const name = positionals[0];
      if (!name) throw new ValidationError("hooks needs a BuildConfig NAME");
      const ns = values.namespace ?? "default";
      const { buildconfigs } = await client.request<{ buildconfigs: { config: BuildConfig }[] }>("GET", "/buildconfigs");
      const bc = buildconfigs.find((b) => b.config.metadata.name === name && (b.config.metadata.namespace ?? "default") === ns)?.config;
      if (!bc) throw new NotFoundError(`buildconfig "${ns}/${name}" not found`);
      const hooks = webhookSetup(cfg.url, bc);
      if (values.json) out(JSON.stringify(hooks, null, 2));
      else if (hooks.length === 0) out(`buildconfig ${ns}/${name} has no GitHub, GitLab, Bitbucket or Generic trigger`);
      else for (const h of hooks) out(`${h.provider}\n  URL:     ${h.url}\n  secret:  ${h.secret}\n  how:     ${h.how}\n  or the OpenShift URL: ${h.openshiftUrl}`);
      return 0;
    }
    case "graph": {
      const g = await client.request<GraphResponse>("GET", "/graph");
      out(values.json ? JSON.stringify(g, null, 2) : formatGraph(g));
      return 0;
    }
    case "subscribe": {
      const url = positionals[0];
      if (!url) throw new ValidationError("subscribe needs a URL");
      const sub = await client.request<{ id: string; url: string; secret: string; mode: string }>("POST", "/subscribers", {
        url,
        ...(values.secret ? { secret: values.secret } : {}),
        ...(values.mode ? { mode: values.mode } : {}),
      });
      out(values.json ? JSON.stringify(sub, null, 2) : `subscribed ${sub.url} (${sub.mode} mode)\nsignature header: X-Cascade-Signature-256: sha256=HMAC(secret, body)\nsecret: ${sub.secret}`);
      return 0;
    }
    case "cache": {
      if (positionals[0] !== "prune") throw new ValidationError(`unknown cache command "${positionals[0] ?? ""}"; try "cascade cache prune"`);
      if (values["older-than"] !== undefined) parseDuration(values["older-than"], "--older-than");
      const res = await client.request<CachePruneResult>("POST", "/cache/prune", values["older-than"] ? { olderThan: values["older-than"] } : {});
      if (values.json) out(JSON.stringify(res, null, 2));
      else {
        for (const r of res.repositories) {
          out(`${r.repository}: ${r.deleted.length} deleted, ${r.kept} kept`);
          for (const d of r.deleted) out(`  deleted ${d.tag} (${d.digest.slice(0, 19)}, created ${d.created})`);
        }
        if (res.repositories.length === 0) out("no cache repositories");
      }
      return 0;
    }
    case "secret":
    case "configmap":
      return runSecretCommand(
        {
          kind: command === "secret" ? "Secret" : "ConfigMap",
          action: positionals[0],
          name: positionals[1],
          namespace: values.namespace ?? (positionals[0] === "list" ? "" : "default"),
          fromFile: values["from-file"] ?? [],
          fromLiteral: values["from-literal"] ?? [],
          type: values.type,
          json: values.json,
          home: cfg.home,
        },
        out,
      );
    case "registry": {
      if (positionals[0] !== "login") throw new ValidationError(`unknown registry command "${positionals[0] ?? ""}"; try "cascade registry login"`);
      const creds = JSON.parse(readFileSync(join(cfg.home, "registry", "credentials.json"), "utf8")) as { username: string; password: string };
      const host = `127.0.0.1:${cfg.registryPort}`;
      if (values.json) out(JSON.stringify({ registry: host, ...creds }, null, 2));
      else out(`buildah login --tls-verify=false -u ${creds.username} -p '${creds.password}' ${host}\n# also: skopeo login / podman login with the same flags`);
      return 0;
    }
    default:
      throw new ValidationError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

async function followToEnd(client: Client, id: string, json: boolean, out: (s: string) => void, quietSummary = false): Promise<number> {
  await printLogStream(client, id, true);
  const b = await client.request<Build>("GET", `/builds/${encodeURIComponent(id)}`);
  if (json) out(JSON.stringify(b, null, 2));
  else if (!quietSummary || b.phase !== "Complete")
    process.stderr.write(
      `build ${b.namespace}/${b.id} ${b.phase}${b.reason ? ` (${b.reason}: ${b.message ?? ""})` : ""}${b.outputs ? `\nimage ${b.outputs.image}@${b.outputs.digest}` : ""}\n`,
    );
  return b.phase === "Complete" ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (process.env.CASCADE_DEBUG) console.error(e);
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${msg}\n`);
    process.exitCode = e instanceof ValidationError || (e instanceof CascadeError && e.code === "ValidationError") ? 2 : 1;
  },
);
