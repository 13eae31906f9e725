/**
 * EventBridge as the simulated flow needs it: the rules' event patterns (the
 * same as serverless.yml's; the template test checks that they are), a
 * matcher for the pattern forms they use (lists of exact values, nested
 * objects), and the event a target receives for a PutEvents entry.
 */
import type { PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";

export type Pattern = { [key: string]: string[] | Pattern };

export const rulePatterns = (source: string, clusterArn: string) => ({
  imagePushed: { source: ["aws.ecr"], "detail-type": ["ECR Image Action"], detail: { "action-type": ["PUSH"], result: ["SUCCESS"] } },
  plan: { source: [source], "detail-type": ["cascade.image.updated"] },
  taskStopped: { source: ["aws.ecs"], "detail-type": ["ECS Task State Change"], detail: { clusterArn: [clusterArn], lastStatus: ["STOPPED"] } },
  buildSucceeded: { source: [source], "detail-type": ["cascade.build.succeeded"] },
});

export function matches(pattern: Pattern, event: unknown): boolean {
  if (typeof event !== "object" || event === null) return false;
  return Object.entries(pattern).every(([k, want]) => {
    const got = (event as Record<string, unknown>)[k];
    return Array.isArray(want) ? want.includes(got as string) : matches(want, got);
  });
}

let n = 0;
/** The event a rule's target receives for an entry put on a bus. */
export function delivered(entry: PutEventsRequestEntry, account = "111122223333", region = "us-west-2") {
  return {
    version: "0",
    id: `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
    "detail-type": entry.DetailType!,
    source: entry.Source!,
    account,
    time: (entry.Time ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    region,
    resources: entry.Resources ?? [],
    detail: JSON.parse(entry.Detail!),
  };
}
