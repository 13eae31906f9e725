/**
 * Build logs on AWS: the builder container logs to CloudWatch Logs through
 * the awslogs driver, one stream per task, named
 * `<prefix>/<container>/<task id>` (the driver's naming, with the task
 * definition's `awslogs-stream-prefix`). `read` returns a build's log from
 * the start, following GetLogEvents' forward tokens until the stream ends or
 * `maxBytes` is reached.
 */
import { GetLogEventsCommand, type CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { NotFoundError } from "../../core/errors.js";
import { translateAwsError } from "./sdk-errors.js";

export interface CloudWatchBuildLogsOptions {
  client: Pick<CloudWatchLogsClient, "send">;
  logGroup: string;
  streamPrefix: string;
  container: string;
  /** Stop reading past this many bytes of log. Default 4 MiB. */
  maxBytes?: number;
}

/** The awslogs stream of an ECS task's container. */
export function logStreamName(prefix: string, container: string, taskArn: string): string {
  const taskId = taskArn.slice(taskArn.lastIndexOf("/") + 1);
  return `${prefix}/${container}/${taskId}`;
}

export class CloudWatchBuildLogs {
  constructor(private readonly o: CloudWatchBuildLogsOptions) {}

  async read(taskArn: string): Promise<{ text: string; truncated: boolean }> {
    const stream = logStreamName(this.o.streamPrefix, this.o.container, taskArn);
    const max = this.o.maxBytes ?? 4 * 1024 * 1024;
    let text = "";
    let token: string | undefined;
    for (;;) {
      let res;
      try {
        res = await this.o.client.send(
          new GetLogEventsCommand({
            logGroupName: this.o.logGroup,
            logStreamName: stream,
            startFromHead: true,
            ...(token ? { nextToken: token } : {}),
          }),
        );
      } catch (e) {
        const err = translateAwsError(e, `CloudWatch Logs GetLogEvents for stream "${stream}" in "${this.o.logGroup}"`);
        // The stream appears with the container's first line: no stream yet is an empty log.
        if (err instanceof NotFoundError) return { text: "", truncated: false };
        throw err;
      }
      for (const e of res.events ?? []) {
        const line = (e.message ?? "").endsWith("\n") ? (e.message ?? "") : `${e.message ?? ""}\n`;
        if (Buffer.byteLength(text) + Buffer.byteLength(line) > max) return { text, truncated: true };
        text += line;
      }
      // The end of the stream: the same forward token comes back.
      if (!res.nextForwardToken || res.nextForwardToken === token || !(res.events ?? []).length) return { text, truncated: false };
      token = res.nextForwardToken;
    }
  }
}
