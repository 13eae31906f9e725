// `npm run package`: the AWS deployment artifacts, offline and with no AWS
// credentials.
//
// 1. Each Lambda function in functions/ is bundled with esbuild (ESM, tree-
//    shaken, minified, Node 20 syntax for the nodejs22.x runtime) into
//    dist/lambda/<name>.mjs, with a metafile next to it for the bench.
// 2. The builder program (scripts/bundle-builder.mjs, as `npm run build` does)
//    and the Fargate builder task's entry, into dist/builder/: both go into
//    the image infra/builder/Containerfile describes.
// 3. osls (`sls package`) turns serverless.yml into the CloudFormation
//    template and one zip per function, in --out (default .serverless/).
//
// Usage: node scripts/package-aws.mjs [--out DIR] [--stage STAGE] [--region REGION] [--bundle-only] [--no-builder]
// (--no-builder leaves dist/builder/ alone: the template test uses it, so that
// it never rewrites a builder bundle a local build may be running.)
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, d) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : d;
};
const out = resolve(opt("out", join(root, ".serverless")));
const stage = opt("stage", "dev");
const region = opt("region", "us-east-1");

export const FUNCTIONS = ["webhook", "api", "image-pushed", "poll-bases", "plan", "launch", "task-stopped"];

// zod's classic entry re-exports every locale (about 250 kB minified) through
// `z.locales`, which defeats tree-shaking; Cascade only ever uses the English
// messages zod configures by default, so the locales index keeps only `en`.
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (a) =>
      /[\\/]zod[\\/]/.test(a.importer) ? { path: join(dirname(a.importer), "../locales/index.js"), namespace: "zod-locales" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-locales" }, (a) => ({
      contents: `export { default as en } from ${JSON.stringify(join(dirname(a.path), "en.js"))};`,
      resolveDir: dirname(a.path),
      loader: "js",
    }));
  },
};

// On Lambda the execution role's credentials are always in the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), so the SDK's
// default chain (SSO, ini files, web identity, IMDS, with their nested STS and
// SSO clients: about 90 kB) is replaced, in the Lambda bundles only, by the
// environment provider it would have tried first. The builder task's bundle
// keeps the whole chain (it gets container credentials).
const lambdaCredentialsFromEnv = {
  name: "lambda-credentials-from-env",
  setup(b) {
    b.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({ path: "credential-provider-node", namespace: "lambda-credentials" }));
    b.onLoad({ filter: /.*/, namespace: "lambda-credentials" }, () => ({
      contents: 'import { fromEnv } from "@aws-sdk/credential-provider-env";\nexport const defaultProvider = (init = {}) => fromEnv(init);\n',
      resolveDir: join(root, "node_modules/@aws-sdk/credential-provider-node"),
      loader: "js",
    }));
  },
};

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  treeShaking: true,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
  mainFields: ["module", "main"],
  plugins: [zodEnglishOnly],
  // Some CommonJS dependencies call require(); ESM bundles get one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};

mkdirSync(join(root, "dist/lambda"), { recursive: true });
for (const name of FUNCTIONS) {
  const result = await build({
    ...common,
    entryPoints: [join(root, "functions", `${name}.ts`)],
    plugins: [zodEnglishOnly, lambdaCredentialsFromEnv],
    outfile: join(root, "dist/lambda", `${name}.mjs`),
    metafile: true,
  });
  writeFileSync(join(root, "dist/lambda", `${name}.meta.json`), JSON.stringify(result.metafile));
}
if (!args.includes("--no-builder")) {
  // The builder program itself, as `npm run build` bundles it.
  const bundled = spawnSync(process.execPath, [join(root, "scripts/bundle-builder.mjs")], { cwd: root, stdio: "inherit" });
  if (bundled.status !== 0) process.exit(bundled.status ?? 1);
  await build({
    ...common,
    entryPoints: [join(root, "src/adapters/aws/builder-task.ts")],
    outfile: join(root, "dist/builder/cascade-builder-task.mjs"),
  });
}

if (!args.includes("--bundle-only")) {
  const sls = join(root, "node_modules/osls/bin/serverless.js");
  const r = spawnSync(process.execPath, [sls, "package", "--stage", stage, "--region", region, "--package", out], {
    cwd: root,
    stdio: "inherit",
    env: {
      ...process.env,
      // Offline and quiet: no telemetry, no update or notification checks.
      SLS_TELEMETRY_DISABLED: "1",
      SLS_NOTIFICATIONS_MODE: "off",
      SLS_DEPRECATION_DISABLE: "*",
      SERVERLESS_PLATFORM_STAGE: "",
    },
  });
  if (r.status !== 0) {
    process.stderr.write(`package-aws: sls package exited with ${r.status ?? r.signal}\n`);
    process.exit(r.status ?? 1);
  }
  process.stdout.write(`package-aws: CloudFormation template and function zips in ${out}\n`);
}
