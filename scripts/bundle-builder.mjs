// Bundle the builder program into one self-contained file, so that the
// unprivileged builder user (and the Fargate builder image) can run it with
// no node_modules and no access to the checkout.
import { build } from "esbuild";

await build({
  entryPoints: ["src/builder/main.ts"],
  outfile: "dist/builder/cascade-builder.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: false,
  logLevel: "warning",
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
