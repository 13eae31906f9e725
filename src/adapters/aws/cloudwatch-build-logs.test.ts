import { describe, expect, it } from "vitest";
import { fakeClient, sdkError } from "../../../test/support/aws-fakes.js";
import { CloudWatchBuildLogs, logStreamName } from "./cloudwatch-build-logs.js";

const TASK = "arn:aws:ecs:us-west-2:111122223333:task/builders/c13b4cb40f1f4fe4a2971f76ae5a47ad";

describe("CloudWatchBuildLogs", () => {
  it("names the awslogs stream of the task's builder container", () => {
    expect(logStreamName("build", "builder", TASK)).toBe("build/builder/c13b4cb40f1f4fe4a2971f76ae5a47ad");
  });

  it("reads the stream from its head, page by page, until the token repeats", async () => {
    const pages = [
      { events: [{ message: "--> FROM base" }, { message: "--> RUN make\n" }], nextForwardToken: "f/1" },
      { events: [{ message: "--> Pushed" }], nextForwardToken: "f/2" },
      { events: [], nextForwardToken: "f/2" },
    ];
    const logs = fakeClient({ GetLogEventsCommand: (_i, n) => pages[n - 1] });
    const out = await new CloudWatchBuildLogs({ client: logs, logGroup: "/cascade/dev/builder", streamPrefix: "build", container: "builder" }).read(TASK);
    expect(out).toEqual({ text: "--> FROM base\n--> RUN make\n--> Pushed\n", truncated: false });
    expect(logs.inputs("GetLogEventsCommand")).toEqual([
      { logGroupName: "/cascade/dev/builder", logStreamName: "build/builder/c13b4cb40f1f4fe4a2971f76ae5a47ad", startFromHead: true },
      { logGroupName: "/cascade/dev/builder", logStreamName: "build/builder/c13b4cb40f1f4fe4a2971f76ae5a47ad", startFromHead: true, nextToken: "f/1" },
      { logGroupName: "/cascade/dev/builder", logStreamName: "build/builder/c13b4cb40f1f4fe4a2971f76ae5a47ad", startFromHead: true, nextToken: "f/2" },
    ]);
  });

  it("stops at maxBytes, and reads a stream not created yet as an empty log", async () => {
    const big = fakeClient({ GetLogEventsCommand: () => ({ events: [{ message: "x".repeat(60) }, { message: "y".repeat(60) }], nextForwardToken: "f/1" }) });
    const out = await new CloudWatchBuildLogs({ client: big, logGroup: "g", streamPrefix: "build", container: "builder", maxBytes: 100 }).read(TASK);
    expect(out).toEqual({ text: `${"x".repeat(60)}\n`, truncated: true });
    const none = fakeClient({ GetLogEventsCommand: () => { throw sdkError("ResourceNotFoundException", "The specified log stream does not exist."); } });
    expect(await new CloudWatchBuildLogs({ client: none, logGroup: "g", streamPrefix: "build", container: "builder" }).read(TASK)).toEqual({ text: "", truncated: false });
  });
});
