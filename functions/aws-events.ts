/**
 * The AWS events the functions receive, parsed with zod at the edge (the
 * envelope pattern of Powertools' parser): EventBridge's "ECR Image Action"
 * and "ECS Task State Change", Cascade's own bus events, the schedule, and
 * SQS batches with their partial-failure response. Only the fields Cascade
 * reads are required; the rest passes through. A malformed event is a
 * ValidationError naming the field, e.g. `ECR Image Action event:
 * detail.image-digest: ...`.
 */
import { z } from "zod";
import { ValidationError } from "../src/core/errors.js";
import { validateDigest } from "../src/core/image-ref.js";
import { ImageUpdatedEvent } from "../src/core/image-updated.js";
import { BuildRef } from "../src/ports/remote-builds.js";

/** Parse `input` or throw a ValidationError naming each bad field (`what: a.b.c: message`). */
export function parseEvent<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  throw new ValidationError(`${what}: ${issues.join("; ")}`);
}

const digest = z.string().superRefine((d, ctx) => {
  try {
    validateDigest(d);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
  }
});

/** The EventBridge envelope: what every rule target receives. */
const envelope = <T extends string, S extends string, D extends z.ZodType>(detailType: T, source: S, detail: D) =>
  z.looseObject({
    version: z.string(),
    id: z.string().min(1),
    "detail-type": z.literal(detailType),
    source: z.literal(source),
    account: z.string().regex(/^\d{12}$/, "expected a 12-digit account id"),
    time: z.string(),
    region: z.string().min(1),
    resources: z.array(z.string()).default([]),
    detail,
  });

export const EcrImageAction = envelope(
  "ECR Image Action",
  "aws.ecr",
  z.looseObject({
    "action-type": z.enum(["PUSH", "DELETE"]),
    result: z.enum(["SUCCESS", "FAILURE"]),
    "repository-name": z.string().min(2),
    "image-digest": digest,
    /** Absent for a push by digest only. */
    "image-tag": z.string().min(1).optional(),
  }),
);
export type EcrImageAction = z.infer<typeof EcrImageAction>;

const KeyValue = z.looseObject({ name: z.string(), value: z.string().optional() });

export const EcsTaskStateChange = envelope(
  "ECS Task State Change",
  "aws.ecs",
  z.looseObject({
    clusterArn: z.string().min(1),
    taskArn: z.string().min(1),
    lastStatus: z.string().min(1),
    desiredStatus: z.string().optional(),
    startedBy: z.string().optional(),
    stopCode: z.string().optional(),
    stoppedReason: z.string().optional(),
    stoppedAt: z.string().optional(),
    containers: z.array(
      z.looseObject({
        name: z.string(),
        lastStatus: z.string().optional(),
        exitCode: z.number().int().optional(),
        reason: z.string().optional(),
      }),
    ),
    overrides: z
      .looseObject({
        containerOverrides: z.array(z.looseObject({ name: z.string(), environment: z.array(KeyValue).optional() })).default([]),
      })
      .default({ containerOverrides: [] }),
  }),
);
export type EcsTaskStateChange = z.infer<typeof EcsTaskStateChange>;

/** A `cascade.image.updated` CloudEvent as EventBridge delivers it from Cascade's bus. */
export const ImageUpdatedBusEvent = z.looseObject({
  version: z.string(),
  id: z.string().min(1),
  "detail-type": z.literal("cascade.image.updated"),
  source: z.string().min(1),
  time: z.string(),
  detail: ImageUpdatedEvent,
});
export type ImageUpdatedBusEvent = z.infer<typeof ImageUpdatedBusEvent>;

/** The EventBridge Scheduler / scheduled rule event (poll-bases reads nothing from it). */
export const ScheduledEvent = z.looseObject({ "detail-type": z.string().optional(), time: z.string().optional() });

export const SqsRecord = z.looseObject({
  messageId: z.string().min(1),
  receiptHandle: z.string().min(1),
  body: z.string(),
  attributes: z.looseObject({ ApproximateReceiveCount: z.coerce.number().int().positive() }),
  eventSource: z.literal("aws:sqs"),
});
export type SqsRecord = z.infer<typeof SqsRecord>;

export const SqsEvent = z.object({ Records: z.array(z.unknown()) });

/** The launch message: a claimed build. */
export const LaunchMessage = BuildRef;

/** An SQS consumer's answer with ReportBatchItemFailures: the messages to receive again. */
export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}
