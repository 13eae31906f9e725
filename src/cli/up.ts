/** `cascade up`: the local stack in the foreground until SIGINT/SIGTERM. */
import { startLocal } from "../runtime/local.js";
import type { Settings } from "./util.js";

export async function runUp(cfg: Settings): Promise<number> {
  const app = await startLocal({
    home: cfg.home,
    port: cfg.port,
    registryPort: cfg.registryPort,
    cache: { enabled: cfg.layerCache, ...(cfg.cacheTtl ? { ttl: cfg.cacheTtl } : {}) },
  });
  const r = app.registry;
  process.stderr.write(
    [
      `cascade up: API ${app.url} (webhooks at ${app.url}/hooks/github, /hooks/generic/NS/NAME)`,
      `registry:   ${r.hostPort} (user ${r.credentials.username}; log in with: cascade registry login)`,
      `home:       ${app.home}`,
      `builder:    runs as user "${app.identity.name}" (uid ${app.identity.uid}), rootless buildah`,
      `cache:      ${cfg.layerCache ? `layers shared through REGISTRY/cascade-cache/NAMESPACE${cfg.cacheTtl ? `, entries kept ${cfg.cacheTtl}` : ""}` : "off"}`,
      "",
    ].join("\n"),
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  process.stderr.write("cascade: stopping\n");
  await app.stop();
  return 0;
}
