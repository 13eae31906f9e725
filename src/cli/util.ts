/** CLI helpers: settings from flags and environment, tables, log streaming. */
import { resolve } from "node:path";
import type { Build } from "../core/build.js";
import { parseDuration } from "../core/duration.js";
import { ValidationError } from "../core/errors.js";
import type { Client } from "./client.js";

export interface Settings {
  home: string;
  port: number;
  registryPort: number;
  url: string;
  /** `--cache-ttl`/`CASCADE_CACHE_TTL`: builds ignore, and prune deletes, cache entries older than this. */
  cacheTtl?: string;
  /** `--no-layer-cache`/`CASCADE_LAYER_CACHE=off`: no build reads or writes the shared layer cache. */
  layerCache: boolean;
}

function cacheSettings(values: { "cache-ttl"?: string; "no-layer-cache"?: boolean }): Pick<Settings, "cacheTtl" | "layerCache"> {
  const ttl = values["cache-ttl"] ?? process.env.CASCADE_CACHE_TTL;
  if (ttl !== undefined && ttl !== "") parseDuration(ttl, "--cache-ttl/CASCADE_CACHE_TTL");
  const env = process.env.CASCADE_LAYER_CACHE;
  if (env !== undefined && !["on", "off"].includes(env)) throw new ValidationError(`CASCADE_LAYER_CACHE "${env}" must be on or off`);
  return { ...(ttl ? { cacheTtl: ttl } : {}), layerCache: !(values["no-layer-cache"] === true || env === "off") };
}

function port(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ValidationError(`${name} "${v}" is not a port number`);
  return n;
}

export function settings(values: {
  home?: string;
  port?: string;
  "registry-port"?: string;
  url?: string;
  "cache-ttl"?: string;
  "no-layer-cache"?: boolean;
}): Settings {
  const p = port("--port/CASCADE_PORT", values.port ?? process.env.CASCADE_PORT, 7070);
  return {
    home: resolve(values.home ?? process.env.CASCADE_HOME ?? ".cascade"),
    port: p,
    registryPort: port("--registry-port/CASCADE_REGISTRY_PORT", values["registry-port"] ?? process.env.CASCADE_REGISTRY_PORT, 5000),
    url: values.url ?? process.env.CASCADE_URL ?? `http://127.0.0.1:${p}`,
    ...cacheSettings(values),
  };
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return "-";
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)}s` : `${Math.round(ms / 1000)}s`;
}

export function formatBuilds(builds: Build[]): string {
  const rows = [["BUILD", "PHASE", "REASON", "DURATION", "CAUSE", "CACHE", "DIGEST"]];
  for (const b of builds) {
    rows.push([
      `${b.namespace}/${b.id}`,
      b.phase,
      b.reason ?? (b.outputs?.unchanged ? "OutputUnchanged" : ""),
      duration(b.durationMs),
      b.causes[0]?.type ?? "",
      b.cache ? `${b.cache.steps.filter((s) => s.cached).length}/${b.cache.steps.length}` : "",
      b.outputs?.digest ? b.outputs.digest.slice(0, 19) : "",
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

export async function printLogStream(client: Client, id: string, follow: boolean): Promise<void> {
  const res = await client.raw("GET", `/builds/${encodeURIComponent(id)}/log${follow ? "?follow=1" : ""}`);
  if (!res.ok) {
    const e = (await res.json().catch(() => ({}))) as { message?: string };
    throw new ValidationError(e.message ?? `cannot read the log of build ${id}: HTTP ${res.status}`);
  }
  if (!res.body) return;
  for await (const chunk of res.body) process.stdout.write(chunk);
}

export interface PlanResponse {
  waves: { key: string; reason: string; dependsOn: string[]; coalesceInto?: string }[][];
  skipped: { key: string; reason: string }[];
}

export function formatPlan(plan: PlanResponse): string {
  const lines: string[] = [];
  if (plan.waves.length === 0) lines.push("nothing to build");
  plan.waves.forEach((wave, i) => {
    lines.push(`wave ${i + 1}`);
    for (const p of wave) {
      const after = p.dependsOn.length ? ` [after ${p.dependsOn.join(", ")}]` : "";
      const join = p.coalesceInto ? ` [joins queued build ${p.coalesceInto}]` : "";
      lines.push(`  build ${p.key}: ${p.reason}${after}${join}`);
    }
  });
  for (const s of plan.skipped) lines.push(`  skip  ${s.key}: ${s.reason}`);
  return lines.join("\n");
}

export interface GraphResponse {
  nodes: { key: string; output?: string; follows: string[]; bases: string[] }[];
  edges: { from: string; to: string; image: string }[];
}

export function formatGraph(g: GraphResponse): string {
  if (g.nodes.length === 0) return "no BuildConfigs";
  const lines: string[] = [];
  for (const n of g.nodes) {
    lines.push(`${n.key}${n.output ? ` -> ${n.output}` : ""}`);
    for (const b of n.bases) {
      const from = g.edges.find((e) => e.to === n.key && e.image === b)?.from;
      lines.push(`  ${n.follows.includes(b) ? "follows" : "uses   "} ${b}${from ? ` (built by ${from})` : ""}`);
    }
  }
  return lines.join("\n");
}
