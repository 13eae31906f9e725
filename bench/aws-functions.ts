/**
 * The AWS functions' bundle sizes and cold init times, measured locally.
 *
 * Size: each function's bundle (dist/lambda/<name>.mjs, as `npm run package`
 * writes it) and its deployment zip (.serverless/<name>.zip), with the
 * biggest inputs from the esbuild metafile.
 *
 * Cold init: in a fresh `node` process each time, the time from just before
 * `import()` of the bundle until its `init()` returned, which is what the
 * Lambda init phase does for the function: load the code, parse the
 * settings, construct its SDK clients and its runtime (no network call is
 * made). Reported: median and p90 of RUNS processes per function, with the
 * import and the init apart.
 *
 * Usage: npm run package && npx tsc -p tsconfig.build.json && node dist/bench/aws-functions.js [RUNS]
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = here.includes(`${"/dist/"}`) ? resolve(here, "../..") : resolve(here, "..");
const FUNCTIONS = ["webhook", "api", "image-pushed", "poll-bases", "plan", "launch", "task-stopped"];
const RUNS = Number(process.argv[2] ?? 15);

/** The settings serverless.yml gives every function, with placeholder values; fake credentials (nothing is called). */
const ENV: Record<string, string> = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "bench",
  AWS_SECRET_ACCESS_KEY: "bench",
  AWS_SESSION_TOKEN: "bench",
  CASCADE_TABLE: "cascade-bench-CascadeTable",
  CASCADE_EVENT_BUS: "cascade-bench",
  CASCADE_BUILD_QUEUE_URL: "https://sqs.us-east-1.example.test/111122223333/cascade-bench-BuildQueue",
  CASCADE_CLUSTER: "cascade-bench-BuilderCluster",
  CASCADE_TASK_DEFINITION: "arn:aws:ecs:us-east-1:111122223333:task-definition/cascade-bench-builder:1",
  CASCADE_SUBNETS: "subnet-1",
  CASCADE_SECURITY_GROUPS: "sg-1",
  CASCADE_REGISTRY: "111122223333.dkr.ecr.us-east-1.example.test",
  CASCADE_URL_SUFFIX: "example.test",
  CASCADE_SOURCE: "urn:cascade:aws:cascade-bench",
  CASCADE_BUILDER_LOG_GROUP: "/cascade/bench/builder",
};

const CHILD = `
const t0 = performance.now();
const m = await import(process.argv[1]);
const t1 = performance.now();
m.init(process.env);
const t2 = performance.now();
process.stdout.write(JSON.stringify({ importMs: t1 - t0, initMs: t2 - t1, totalMs: t2 - t0 }));
`;

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))]!;
};
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

function topInputs(name: string): string {
  const meta = join(root, "dist/lambda", `${name}.meta.json`);
  if (!existsSync(meta)) return "";
  const m = JSON.parse(readFileSync(meta, "utf8")) as { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> };
  const by = new Map<string, number>();
  for (const [path, v] of Object.entries(Object.values(m.outputs)[0]!.inputs)) {
    const nm = path.split("node_modules/");
    const pkg = nm.length > 1 ? nm.at(-1)!.split("/").slice(0, nm.at(-1)!.startsWith("@") ? 2 : 1).join("/") : "cascade";
    by.set(pkg, (by.get(pkg) ?? 0) + v.bytesInOutput);
  }
  return [...by.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([p, n]) => `${p} ${kb(n)}`)
    .join(", ");
}

const rows = [];
for (const name of FUNCTIONS) {
  const bundle = join(root, "dist/lambda", `${name}.mjs`);
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run package first`);
  const zip = join(root, ".serverless", `${name}.zip`);
  const samples: { importMs: number; initMs: number; totalMs: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, ["--no-warnings", "--input-type=module", "-e", CHILD, bundle], {
      env: { PATH: process.env.PATH ?? "", ...ENV },
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
    samples.push(JSON.parse(r.stdout));
  }
  rows.push({
    name,
    bytes: statSync(bundle).size,
    zipBytes: existsSync(zip) ? statSync(zip).size : undefined,
    importMs: quantile(samples.map((s) => s.importMs), 0.5),
    initMs: quantile(samples.map((s) => s.initMs), 0.5),
    median: quantile(samples.map((s) => s.totalMs), 0.5),
    p90: quantile(samples.map((s) => s.totalMs), 0.9),
    top: topInputs(name),
  });
}

process.stdout.write(JSON.stringify({ runs: RUNS, node: process.version, rows }, null, 2) + "\n");
const lines = [
  `| function | bundle | zip | cold init median (import + init) | p90 | largest inputs |`,
  `|---|---|---|---|---|---|`,
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.bytes.toLocaleString("en")} B (${kb(r.bytes)}) | ${r.zipBytes ? kb(r.zipBytes) : "-"} | ${r.median.toFixed(0)} ms (${r.importMs.toFixed(0)} + ${r.initMs.toFixed(1)}) | ${r.p90.toFixed(0)} ms | ${r.top} |`,
  ),
];
process.stderr.write(lines.join("\n") + "\n");
