/**
 * Applying BuildConfigs: validate, store, and fire the ConfigChange trigger
 * of a BuildConfig created for the first time (OpenShift's lastVersion == 0).
 */
import { checkBuildConfig, type BuildConfig } from "../core/buildconfig.js";
import { ValidationError } from "../core/errors.js";
import { findCycle } from "../core/planner.js";
import type { Clock } from "../ports/clock.js";
import type { Planning } from "./planning.js";
import type { Store } from "../ports/store.js";
import { sourceInputs, type Builds } from "./builds.js";

export interface ApplyResult {
  namespace: string;
  name: string;
  created: boolean;
  build?: string;
  warnings: string[];
}

export async function applyConfigs(
  deps: { store: Store; builds: Builds; planning: Planning; clock: Clock },
  inputs: unknown[],
): Promise<ApplyResult[]> {
  // Validate everything first: one bad document stores nothing.
  const configs: { config: BuildConfig; warnings: string[] }[] = inputs.map((input, i) => {
    const check = checkBuildConfig(input);
    if (!check.ok) {
      const name = (input as { metadata?: { name?: unknown } })?.metadata?.name;
      throw new ValidationError(
        `buildconfig ${typeof name === "string" ? `"${name}"` : `#${i + 1}`}: ${check.errors.map((x) => `${x.path}: ${x.message}`).join("; ")}`,
      );
    }
    return {
      config: check.config,
      warnings: check.warnings.map((w) => `buildconfig "${check.config.metadata.name}": ${w.message}`),
    };
  });
  // The graph with these configs applied must have no ImageChange cycle (OpenShift has no such check).
  const merged = new Map((await deps.store.listBuildConfigs()).map((s) => [key(s.config), s.config]));
  for (const { config } of configs) merged.set(key(config), config);
  const cycle = findCycle(await deps.planning.graph([...merged.values()]));
  if (cycle) {
    throw new ValidationError(`ImageChange cycle: ${cycle.join(" -> ")}; each would rebuild the next forever. Nothing was applied`);
  }
  const out: ApplyResult[] = [];
  for (const { config, warnings } of configs) {
    const now = deps.clock.now().toISOString();
    const { created, stored } = await deps.store.putBuildConfig(config, now);
    const ns = config.metadata.namespace ?? "default";
    const result: ApplyResult = { namespace: ns, name: config.metadata.name, created, warnings };
    if (stored.lastVersion === 0 && config.spec.triggers.some((t) => t.type === "ConfigChange")) {
      const { builds } = await deps.builds.enqueue([
        {
          namespace: ns,
          buildConfig: config.metadata.name,
          causes: [{ type: "ConfigChange", message: "Build configuration change", at: now }],
          inputs: sourceInputs(config),
        },
      ]);
      if (builds[0]) result.build = builds[0].id;
    }
    out.push(result);
  }
  return out;
}

const key = (c: BuildConfig) => `${c.metadata.namespace ?? "default"}/${c.metadata.name}`;
