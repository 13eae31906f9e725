/**
 * CNCF Distribution notification envelopes
 * (`application/vnd.docker.distribution.events.v1+json`): the image updates
 * in them. Only manifest pushes with a tag are updates; pulls, mounts,
 * deletes, blob events and pushes by digest alone are ignored, with a reason.
 */
import { z } from "zod";
import { ValidationError } from "../errors.js";

const Event = z.looseObject({
  id: z.string(),
  timestamp: z.string().optional(),
  action: z.string(),
  target: z.looseObject({
    mediaType: z.string().optional(),
    digest: z.string().optional(),
    repository: z.string(),
    url: z.string().optional(),
    tag: z.string().optional(),
  }),
  request: z.looseObject({ host: z.string().optional() }).optional(),
});

export const RegistryEnvelope = z.looseObject({ events: z.array(Event) });

export interface ImageUpdate {
  eventId: string;
  /** `host:port/repository:tag` as clients name it. */
  image: string;
  digest: string;
}

const MANIFEST_TYPES = new Set([
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
]);

export function parseRegistryNotification(body: unknown): { updates: ImageUpdate[]; ignored: { eventId: string; reason: string }[] } {
  const r = RegistryEnvelope.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ValidationError(`registry notification: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  const updates: ImageUpdate[] = [];
  const ignored: { eventId: string; reason: string }[] = [];
  for (const e of r.data.events) {
    const t = e.target;
    if (e.action !== "push") ignored.push({ eventId: e.id, reason: `action ${e.action}` });
    else if (!t.mediaType || !MANIFEST_TYPES.has(t.mediaType)) ignored.push({ eventId: e.id, reason: `not a manifest (${t.mediaType ?? "no media type"})` });
    else if (!t.tag) ignored.push({ eventId: e.id, reason: "pushed by digest, no tag moved" });
    else if (!t.digest) ignored.push({ eventId: e.id, reason: "no digest" });
    else {
      let host = e.request?.host;
      if (!host && t.url) host = new URL(t.url).host;
      if (!host) {
        ignored.push({ eventId: e.id, reason: "no registry host in request or target url" });
        continue;
      }
      updates.push({ eventId: e.id, image: `${host}/${t.repository}:${t.tag}`, digest: t.digest });
    }
  }
  return { updates, ignored };
}
