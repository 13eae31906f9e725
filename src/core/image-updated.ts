/**
 * The normalised inbound "image updated" event: a repository:tag now points
 * at a digest. On AWS every source of one (an ECR push, the base poller) puts
 * it on Cascade's EventBridge bus as a CloudEvent 1.0 of type
 * `cascade.image.updated`, and the `plan` function consumes it. Pure: the
 * caller gives the id and the time.
 */
import { z } from "zod";
import { validateDigest } from "./image-ref.js";

export const IMAGE_UPDATED = "cascade.image.updated";

export const ImageUpdated = z.object({
  /** The image as a user types it (`host/repo:tag`); the planner normalises it. */
  image: z.string().min(1),
  digest: z.string().superRefine((d, ctx) => {
    try {
      validateDigest(d);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
    }
  }),
  /** Where the update was seen, for the build cause: `ECR push`, `base image poll`. */
  via: z.string().min(1),
  /** What makes a redelivery of the same upstream event recognisable. */
  delivery: z.object({ provider: z.string().min(1), id: z.string().min(1) }),
});
export type ImageUpdated = z.infer<typeof ImageUpdated>;

/** The CloudEvent that carries an ImageUpdated (structured mode, as EventBridge's `detail`). */
export const ImageUpdatedEvent = z.object({
  specversion: z.literal("1.0"),
  id: z.string().min(1),
  type: z.literal(IMAGE_UPDATED),
  source: z.string().min(1),
  subject: z.string().optional(),
  time: z.string(),
  datacontenttype: z.literal("application/json").optional(),
  data: ImageUpdated,
});
export type ImageUpdatedEvent = z.infer<typeof ImageUpdatedEvent>;

export function imageUpdatedEvent(update: ImageUpdated, ctx: { id: string; source: string; time: string }): ImageUpdatedEvent {
  return Object.freeze({
    specversion: "1.0",
    id: ctx.id,
    type: IMAGE_UPDATED,
    source: ctx.source,
    subject: update.image,
    time: ctx.time,
    datacontenttype: "application/json",
    data: Object.freeze({ ...update, delivery: Object.freeze({ ...update.delivery }) }),
  });
}
