/** `cascade hooks NAME`: for each webhook trigger, what to paste into the provider's settings. */
import type { BuildConfig } from "../core/buildconfig.js";

export interface HookSetup {
  provider: string;
  url: string;
  secret: string;
  how: string;
  openshiftUrl: string;
}

const HOW: Record<string, { path: string; how: string; slug: string }> = {
  GitHub: { path: "/hooks/github", how: "Settings > Webhooks: content type application/json, secret as above (signs X-Hub-Signature-256); Gitea/Forgejo: /hooks/gitea with the same secret", slug: "github" },
  GitLab: { path: "/hooks/gitlab", how: "Settings > Webhooks: secret token as above (sent as X-Gitlab-Token); push and tag push events", slug: "gitlab" },
  Bitbucket: { path: "/hooks/bitbucket", how: "Repository settings > Webhooks: secret as above (signs X-Hub-Signature); repository push", slug: "bitbucket" },
  Generic: { path: "", how: "POST the OpenShift generic payload with Authorization: Bearer <secret>", slug: "generic" },
};

export function webhookSetup(baseUrl: string, bc: BuildConfig): HookSetup[] {
  const ns = bc.metadata.namespace ?? "default";
  const out: HookSetup[] = [];
  for (const t of bc.spec.triggers) {
    const h = HOW[t.type];
    if (!h) continue;
    const settings = (t as Record<string, unknown>)[h.slug] as { secret?: string; secretReference?: { name: string } } | undefined;
    const secret = settings?.secret ?? (settings?.secretReference ? `(from secret "${settings.secretReference.name}")` : "");
    const base = baseUrl.replace(/\/+$/, "");
    out.push({
      provider: t.type,
      url: t.type === "Generic" ? `${base}/hooks/generic/${ns}/${bc.metadata.name}` : `${base}${h.path}`,
      secret,
      how: h.how,
      openshiftUrl: `${base}/apis/build.openshift.io/v1/namespaces/${ns}/buildconfigs/${bc.metadata.name}/webhooks/${encodeURIComponent(settings?.secret ?? "<secret>")}/${h.slug}`,
    });
  }
  return out;
}
