/**
 * `npm run package` (scripts/package-aws.mjs: esbuild bundles, then osls's
 * `sls package`) run here as on a fresh machine: no AWS credentials or
 * config, into a temporary folder. The generated CloudFormation template must
 * hold every function with its trigger, the rules, queues and DLQs, the
 * table, the builder's task definition (not privileged, not root), the layer
 * cache's ECR repository with its lifecycle policy, and least-privilege IAM:
 * no `"Resource": "*"` but where the API has no resource-level permission,
 * each such case named in a comment of serverless.yml.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tableDefinition } from "../src/adapters/aws/dynamodb-store.js";
import { cacheRepository } from "../src/runtime/builds.js";
import { rulePatterns } from "./support/eventbridge.js";
import { zipEntries } from "./support/zip-entries.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "cascade-package-"));
let template: { Resources: Record<string, { Type: string; Properties: any; DependsOn?: unknown }>; Outputs: Record<string, unknown> };
let packaged: ReturnType<typeof spawnSync>;

/** The "Resource: *" exceptions: actions with no resource-level permissions. */
const STAR_EXCEPTIONS = new Set(["ecr:GetAuthorizationToken"]);
const FUNCTIONS = ["webhook", "api", "image-pushed", "poll-bases", "plan", "launch", "task-stopped"];
const logicalId = (fn: string) => `${fn.replace(/-(\w)/g, (_m, c: string) => `Dash${c}`).replace(/^\w/, (c) => c.toUpperCase())}LambdaFunction`;

beforeAll(() => {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("AWS_")) env[k] = v;
  const home = mkdtempSync(join(tmpdir(), "cascade-package-home-"));
  packaged = spawnSync(process.execPath, ["scripts/package-aws.mjs", "--out", out, "--no-builder"], {
    cwd: root,
    encoding: "utf8",
    timeout: 180_000,
    // A fresh machine: no credentials, no AWS config, an empty home.
    env: { ...env, HOME: home, AWS_CONFIG_FILE: join(home, "none"), AWS_SHARED_CREDENTIALS_FILE: join(home, "none") },
  });
  rmSync(home, { recursive: true, force: true });
  if (packaged.status === 0) template = JSON.parse(readFileSync(join(out, "cloudformation-template-update-stack.json"), "utf8"));
}, 200_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const resource = (id: string) => {
  const r = template.Resources[id];
  if (!r) throw new Error(`no resource ${id} in the template`);
  return r;
};
const statements = () =>
  ofType("AWS::IAM::Role").flatMap(([id, r]) =>
    (r.Properties.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement.map((s: any) => ({ role: id, ...s }))),
  );
const list = <T,>(x: T | T[]) => (Array.isArray(x) ? x : [x]);

describe("npm run package", () => {
  it("succeeds offline with no AWS credentials, writing the template and one zip per function", () => {
    expect(packaged.status, `${packaged.stdout}\n${packaged.stderr}`).toBe(0);
    for (const fn of FUNCTIONS) {
      expect(zipEntries(join(out, `${fn}.zip`))).toEqual([`dist/lambda/${fn}.mjs`]);
    }
  });

  it("declares every function, on nodejs22.x, each with its own role and its trigger", () => {
    const fns = ofType("AWS::Lambda::Function");
    expect(fns.map(([id]) => id).sort()).toEqual(FUNCTIONS.map(logicalId).sort());
    const roles = new Set<string>();
    for (const fn of FUNCTIONS) {
      const p = resource(logicalId(fn)).Properties;
      expect([p.Runtime, p.Handler]).toEqual(["nodejs22.x", `dist/lambda/${fn}.handler`]);
      roles.add(p.Role["Fn::GetAtt"][0]);
    }
    expect(roles.size).toBe(FUNCTIONS.length);

    // HTTP: the hooks are public (they check signatures), every API route is IAM-authorized.
    const routes = ofType("AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties);
    const target = (fn: string) => (r: any) => JSON.stringify(r.Target).includes(`HttpApiIntegration${fn}`);
    expect(routes.filter(target("Webhook")).map((r) => [r.RouteKey, r.AuthorizationType ?? "NONE"])).toEqual([
      ["POST /hooks/{provider}", "NONE"],
      ["POST /hooks/generic/{namespace}/{name}", "NONE"],
      ["POST /apis/build.openshift.io/v1/namespaces/{namespace}/buildconfigs/{name}/webhooks/{secret}/{type}", "NONE"],
    ]);
    const api = routes.filter(target("Api"));
    expect(api.map((r) => r.RouteKey)).toEqual(
      expect.arrayContaining(["GET /builds", "GET /builds/{build+}", "POST /builds/{build+}", "GET /buildconfigs", "GET /graph", "GET /healthz"]),
    );
    expect(api.every((r) => r.AuthorizationType === "AWS_IAM")).toBe(true);

    // EventBridge rules: the patterns the simulated flow routes by.
    const env = resource(logicalId("plan")).Properties.Environment.Variables;
    const patterns = rulePatterns(env.CASCADE_SOURCE, "CLUSTER_ARN");
    const rules = ofType("AWS::Events::Rule").map(([id, r]) => ({ id, ...r.Properties }));
    const ruleOf = (fn: string) => rules.find((r) => JSON.stringify(r.Targets).includes(logicalId(fn)))!;
    const cluster = (p: unknown) => JSON.parse(JSON.stringify(p).replace(JSON.stringify({ "Fn::GetAtt": ["BuilderCluster", "Arn"] }), '"CLUSTER_ARN"'));
    expect(ruleOf("image-pushed").EventPattern).toEqual(patterns.imagePushed);
    expect(ruleOf("image-pushed").EventBusName).toBeUndefined(); // the default bus, where ECR and ECS events arrive
    expect(cluster(ruleOf("task-stopped").EventPattern)).toEqual(patterns.taskStopped);
    expect(ruleOf("plan").EventPattern).toEqual(patterns.plan);
    expect(ruleOf("plan").EventBusName).toEqual({ Ref: "CascadeEventBus" });
    expect(ruleOf("poll-bases").ScheduleExpression).toBe("rate(5 minutes)");

    // SQS: launch consumes the build queue and reports partial batch failures.
    const [[, mapping]] = ofType("AWS::Lambda::EventSourceMapping") as [[string, any]];
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { "Fn::GetAtt": ["BuildQueue", "Arn"] },
      FunctionName: { "Fn::GetAtt": [logicalId("launch"), "Arn"] },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("declares the queues with their dead-letter queues, the table and the bus", () => {
    const queue = resource("BuildQueue").Properties;
    expect(queue.RedrivePolicy.deadLetterTargetArn).toEqual({ "Fn::GetAtt": ["BuildQueueDLQ", "Arn"] });
    // The last delivery of a launch message is the one that records a build that cannot start.
    expect(String(queue.RedrivePolicy.maxReceiveCount)).toBe(resource(logicalId("launch")).Properties.Environment.Variables.CASCADE_LAUNCH_ATTEMPTS);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * resource(logicalId("launch")).Properties.Timeout);
    expect(resource("BuildQueueDLQ").Type).toBe("AWS::SQS::Queue");
    // Events the async functions could not handle go to the events DLQ.
    for (const fn of ["image-pushed", "plan", "task-stopped", "poll-bases"]) {
      const [[, conf]] = ofType("AWS::Lambda::EventInvokeConfig").filter(([, r]) => r.Properties.FunctionName.Ref === logicalId(fn)) as [[string, any]];
      expect(conf.Properties.DestinationConfig.OnFailure.Destination).toEqual({ "Fn::GetAtt": ["EventsDLQ", "Arn"] });
    }
    const table = resource("CascadeTable").Properties;
    const def = tableDefinition("x");
    expect([table.KeySchema, table.AttributeDefinitions, table.BillingMode]).toEqual([def.KeySchema, def.AttributeDefinitions, def.BillingMode]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: "expiresAt", Enabled: true });
    expect(resource("CascadeEventBus").Type).toBe("AWS::Events::EventBus");
  });

  it("declares the builder's task definition: Fargate, not privileged, a non-root user, logs in its log group", () => {
    const [[id, td]] = ofType("AWS::ECS::TaskDefinition") as [[string, any]];
    expect(id).toBe("BuilderTaskDefinition");
    expect(td.Properties).toMatchObject({ RequiresCompatibilities: ["FARGATE"], NetworkMode: "awsvpc" });
    const [c] = td.Properties.ContainerDefinitions;
    expect(c.Name).toBe("builder");
    expect(c.Privileged ?? false).toBe(false);
    expect(c.User).toMatch(/^[1-9][0-9]*(:[1-9][0-9]*)?$/); // a uid (and gid) other than 0
    expect(c.LinuxParameters?.Capabilities?.Add ?? []).toEqual([]);
    expect(c.LogConfiguration).toMatchObject({ LogDriver: "awslogs", Options: { "awslogs-group": { Ref: "BuilderLogGroup" } } });
    expect(resource("BuilderLogGroup").Type).toBe("AWS::Logs::LogGroup");
    expect(resource("BuilderCluster").Properties.CapacityProviders).toEqual(["FARGATE", "FARGATE_SPOT"]);
    // The runtime starts this task definition with this container.
    const env = resource(logicalId("launch")).Properties.Environment.Variables;
    expect([env.CASCADE_TASK_DEFINITION, env.CASCADE_CLUSTER, env.CASCADE_BUILDER_CONTAINER]).toEqual([{ Ref: id }, { Ref: "BuilderCluster" }, "builder"]);
  });

  it("keeps the layer cache in ECR with a lifecycle policy, where the builds put it", () => {
    const repo = resource("LayerCacheRepository").Properties;
    expect(`registry.example.test/${repo.RepositoryName}`).toBe(cacheRepository("registry.example.test", "default"));
    const rules = JSON.parse(repo.LifecyclePolicy.LifecyclePolicyText).rules;
    expect(rules[0]).toMatchObject({ selection: { tagStatus: "any", countType: "sinceImagePushed", countUnit: "days" }, action: { type: "expire" } });
    // Other namespaces' cache repositories are created on push with the same policy.
    const tpl = resource("LayerCacheRepositoryTemplate").Properties;
    expect(`registry.example.test/${tpl.Prefix}/shop`).toBe(cacheRepository("registry.example.test", "shop"));
    expect(tpl.AppliedFor).toEqual(["CREATE_ON_PUSH"]);
    expect(tpl.LifecyclePolicy).toBe(repo.LifecyclePolicy.LifecyclePolicyText);
  });

  it("routes cascade.build.succeeded to an SQS queue: the example subscriber", () => {
    const rule = resource("BuildSucceededRule").Properties;
    const env = resource(logicalId("plan")).Properties.Environment.Variables;
    expect(rule.EventPattern).toEqual(rulePatterns(env.CASCADE_SOURCE, "").buildSucceeded);
    expect(rule.EventBusName).toEqual({ Ref: "CascadeEventBus" });
    expect(rule.Targets).toEqual([expect.objectContaining({ Arn: { "Fn::GetAtt": ["BuildSucceededQueue", "Arn"] } })]);
    const policy = resource("BuildSucceededQueuePolicy").Properties.PolicyDocument.Statement[0];
    expect(policy).toMatchObject({ Principal: { Service: "events.amazonaws.com" }, Action: "sqs:SendMessage", Condition: { ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": ["BuildSucceededRule", "Arn"] } } } });
  });

  it("grants least privilege: no Resource \"*\" but the named exceptions, no wildcard actions", () => {
    const all = statements();
    expect(all.length).toBeGreaterThan(20);
    const source = readFileSync(join(root, "serverless.yml"), "utf8");
    const starred = all.filter((s) => list(s.Resource).includes("*"));
    for (const s of starred) {
      for (const action of list(s.Action as string | string[])) {
        expect(STAR_EXCEPTIONS.has(action), `${s.role}: ${action} on Resource "*"`).toBe(true);
      }
    }
    // Each exception is named in a comment where it is granted.
    for (const action of STAR_EXCEPTIONS) {
      const granted = starred.filter((s) => list(s.Action).includes(action)).length;
      const named = source.split("\n").filter((l) => l.trim() === `# Resource "*": ${action} has no resource-level permissions.`).length;
      expect(named, action).toBe(granted);
    }
    for (const s of all) for (const a of list(s.Action as string | string[])) expect(a, s.role).not.toMatch(/\*/);
    // The builder reads and writes only its own records in the table.
    const builder = all.filter((s) => s.role === "BuilderTaskRole" && list(s.Action).some((a: string) => a.startsWith("dynamodb:")));
    expect(builder).toEqual([
      expect.objectContaining({ Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["TASK#*", "PUSHED#*"] } } }),
    ]);
    // Only launch may start tasks, only of the builder's family, on its cluster, passing only the builder's roles.
    const runTask = all.filter((s) => list(s.Action).includes("ecs:RunTask"));
    expect(runTask.map((s) => s.role)).toEqual(["LaunchRole"]);
    expect(runTask[0].Condition).toEqual({ ArnEquals: { "ecs:cluster": { "Fn::GetAtt": ["BuilderCluster", "Arn"] } } });
    const pass = all.filter((s) => list(s.Action).includes("iam:PassRole"));
    expect(pass.map((s) => [s.role, s.Resource])).toEqual([
      ["LaunchRole", [{ "Fn::GetAtt": ["BuilderTaskRole", "Arn"] }, { "Fn::GetAtt": ["BuilderExecutionRole", "Arn"] }]],
    ]);
    // Secrets Manager: only GetSecretValue, only under the prefix Cascade reads (CASCADE_SECRETS_PREFIX), only for
    // the builder task (Secrets and ConfigMaps its job names) and the webhook function (secretReference: Secrets).
    const prefix = resource(logicalId("webhook")).Properties.Environment.Variables.CASCADE_SECRETS_PREFIX;
    expect(prefix).toBe("cascade");
    const builderEnv = resource("BuilderTaskDefinition").Properties.ContainerDefinitions[0].Environment;
    expect(builderEnv).toContainEqual({ Name: "CASCADE_SECRETS_PREFIX", Value: prefix });
    const secretArn = (kind: string) => ({ "Fn::Sub": `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${prefix}/${kind}/*` });
    const secretsManager = all.filter((s) => list(s.Action).some((a: string) => a.startsWith("secretsmanager:")));
    expect(secretsManager.map((s) => [s.role, s.Action, list(s.Resource)])).toEqual([
      ["BuilderTaskRole", "secretsmanager:GetSecretValue", [secretArn("Secret"), secretArn("ConfigMap")]],
      ["WebhookRole", "secretsmanager:GetSecretValue", [secretArn("Secret")]],
    ]);
    // Serverless's shared default role is not generated: every function has its own.
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
  });
});

describe("the builder image", () => {
  const containerfile = readFileSync(join(root, "infra/builder/Containerfile"), "utf8");
  const instructions = containerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((l) => l.trim() && !l.trim().startsWith("#"));

  it("runs the same builder program, through the task entry, as the non-root user of the task definition", () => {
    const users = instructions.filter((l) => /^USER\s/.test(l)).map((l) => l.split(/\s+/)[1]);
    expect(users.at(-1)).toBe(resource("BuilderTaskDefinition").Properties.ContainerDefinitions[0].User);
    expect(users.at(-1)).not.toMatch(/^(0|root)(:|$)/);
    expect(instructions.find((l) => l.startsWith("COPY"))).toContain("dist/builder/cascade-builder.mjs dist/builder/cascade-builder-task.mjs /opt/cascade/");
    expect(instructions.at(-1)).toBe('ENTRYPOINT ["node", "/opt/cascade/cascade-builder-task.mjs"]');
  });

  it("builds rootless: buildah with chroot isolation and vfs, subordinate ids, nothing privileged", () => {
    expect(containerfile).toMatch(/BUILDAH_ISOLATION=chroot/);
    expect(containerfile).toMatch(/STORAGE_DRIVER=vfs/);
    expect(containerfile).toMatch(/apt-get install [^\n]*buildah uidmap/);
    expect(containerfile).toMatch(/--add-subuids/);
    expect(containerfile).not.toMatch(/--privileged|setcap|chmod [0-7]*[4-7][0-7]{3} /);
  });
});
