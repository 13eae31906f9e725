/**
 * BuildTasks on DynamoDB, in the Store's table (`CascadeTable`), under key
 * prefixes the DynamoDB store does not use:
 *
 *   TASK#<ns>/<id> / TASK        the build's task record: `job` (the BuilderJob), `deadlineSeconds`,
 *                                `taskArn`, `cancelRequested`, `reports` (a list, appended by the
 *                                builder task as it reports), `createdAt`
 *   PUSHED#<image> / <digest>    "build <ns>/<id> pushed this digest to this image" (image normalised)
 *
 * Both carry `expiresAt` (TTL, `retentionDays` after they are written, 30 by
 * default). The builder task's IAM role may touch only these two prefixes
 * (`dynamodb:LeadingKeys` in serverless.yml), so a builder can neither read
 * nor change builds, BuildConfigs or deliveries.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { BuilderJob, BuilderReport } from "../../builder/job.js";
import { ConflictError, ValidationError } from "../../core/errors.js";
import { normalizeImageRef } from "../../core/image-ref.js";
import { BuildTask, refKey, type BuildRef, type BuildTasks } from "../../ports/remote-builds.js";
import { translateDynamoError } from "./dynamodb-store.js";

export const TASK_PREFIX = "TASK#";
export const PUSHED_PREFIX = "PUSHED#";
const TASK_SK = "TASK";

export interface DynamoDbBuildTasksOptions {
  tableName: string;
  doc: Pick<DynamoDBDocumentClient, "send">;
  /** Days to keep task records and push records (TTL); `null` keeps them. Default 30. */
  retentionDays?: number | null;
}

export class DynamoDbBuildTasks implements BuildTasks {
  private readonly retentionDays: number | null;

  constructor(private readonly o: DynamoDbBuildTasksOptions) {
    this.retentionDays = o.retentionDays === undefined ? 30 : o.retentionDays;
  }

  private key(ref: BuildRef) {
    return { pk: `${TASK_PREFIX}${refKey(ref)}`, sk: TASK_SK };
  }

  private expiresAt(now: string): { expiresAt?: number } {
    return this.retentionDays === null ? {} : { expiresAt: Math.floor(Date.parse(now) / 1000) + this.retentionDays * 86_400 };
  }

  private async run<T>(what: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (e) {
      throw translateDynamoError(e, `DynamoDB table "${this.o.tableName}": ${what}`);
    }
  }

  async putJob(ref: BuildRef, job: BuilderJob, deadlineSeconds: number, now: string): Promise<void> {
    await this.run(`put the job of build "${refKey(ref)}"`, () =>
      this.o.doc.send(
        new PutCommand({
          TableName: this.o.tableName,
          Item: { ...this.key(ref), namespace: ref.namespace, id: ref.id, job, deadlineSeconds, reports: [], createdAt: now, ...this.expiresAt(now) },
        }),
      ),
    );
  }

  async get(ref: BuildRef): Promise<BuildTask | undefined> {
    const res = await this.run(`get the task of build "${refKey(ref)}"`, () =>
      this.o.doc.send(new GetCommand({ TableName: this.o.tableName, Key: this.key(ref), ConsistentRead: true })),
    );
    if (!res.Item) return undefined;
    const parsed = BuildTask.safeParse(res.Item);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new ValidationError(`task record of build "${refKey(ref)}": ${i.path.join(".")}: ${i.message}`);
    }
    return parsed.data;
  }

  /** An update of an existing record; a missing record is a ConflictError naming the build. */
  private async update(ref: BuildRef, what: string, expression: string, values: Record<string, unknown>, names?: Record<string, string>) {
    try {
      return await this.o.doc.send(
        new UpdateCommand({
          TableName: this.o.tableName,
          Key: this.key(ref),
          UpdateExpression: expression,
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: values,
          ...(names ? { ExpressionAttributeNames: names } : {}),
          ReturnValues: "ALL_NEW",
        }),
      );
    } catch (e) {
      if ((e as { name?: string })?.name === "ConditionalCheckFailedException") {
        throw new ConflictError(`build "${refKey(ref)}" has no task record (${what})`, { cause: e });
      }
      throw translateDynamoError(e, `DynamoDB table "${this.o.tableName}": ${what} of build "${refKey(ref)}"`);
    }
  }

  async setTask(ref: BuildRef, taskArn: string): Promise<void> {
    await this.update(ref, "record the task", "SET taskArn = :t", { ":t": taskArn });
  }

  async requestCancel(ref: BuildRef): Promise<BuildTask | undefined> {
    try {
      const res = await this.update(ref, "request a cancel", "SET cancelRequested = :c", { ":c": true });
      return BuildTask.parse(res.Attributes);
    } catch (e) {
      if (e instanceof ConflictError) return undefined;
      throw e;
    }
  }

  async addReport(ref: BuildRef, report: BuilderReport): Promise<void> {
    await this.update(ref, "add a report", "SET reports = list_append(if_not_exists(reports, :empty), :r)", { ":r": [report], ":empty": [] });
  }

  async recordPushed(images: string[], digest: string, ref: BuildRef, now: string): Promise<void> {
    for (const image of images) {
      await this.run(`record the push of ${image}@${digest}`, () =>
        this.o.doc.send(
          new PutCommand({
            TableName: this.o.tableName,
            Item: { pk: `${PUSHED_PREFIX}${normalizeImageRef(image)}`, sk: digest, build: refKey(ref), at: now, ...this.expiresAt(now) },
          }),
        ),
      );
    }
  }

  async pushedBy(image: string, digest: string): Promise<string | undefined> {
    const res = await this.run(`look up the push of ${image}@${digest}`, () =>
      this.o.doc.send(
        new GetCommand({ TableName: this.o.tableName, Key: { pk: `${PUSHED_PREFIX}${normalizeImageRef(image)}`, sk: digest }, ConsistentRead: true }),
      ),
    );
    return typeof res.Item?.build === "string" ? res.Item.build : undefined;
  }

  /** Remove a build's task record (tests; TTL does it otherwise). */
  async delete(ref: BuildRef): Promise<void> {
    await this.run(`delete the task of build "${refKey(ref)}"`, () =>
      this.o.doc.send(new DeleteCommand({ TableName: this.o.tableName, Key: this.key(ref) })),
    );
  }
}
