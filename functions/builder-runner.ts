/** The ECS builder runner as the settings describe it, for the functions that start or stop builder tasks. */
import { ECSClient } from "@aws-sdk/client-ecs";
import { EcsRunner } from "../src/adapters/aws/ecs-runner.js";
import type { AwsSettings } from "../src/runtime/aws.js";

export function builderRunner(s: AwsSettings, client: Pick<ECSClient, "send"> = new ECSClient({})): EcsRunner {
  return new EcsRunner({
    client,
    cluster: s.CASCADE_CLUSTER,
    taskDefinition: s.CASCADE_TASK_DEFINITION,
    container: s.CASCADE_BUILDER_CONTAINER,
    subnets: s.CASCADE_SUBNETS,
    securityGroups: s.CASCADE_SECURITY_GROUPS,
    assignPublicIp: s.CASCADE_ASSIGN_PUBLIC_IP === "true",
    capacityProvider: s.CASCADE_CAPACITY_PROVIDER,
  });
}
