/**
 * A fake SDK v3 client for the AWS services that cannot run here
 * (EventBridge, SQS, ECS, ECR, CloudWatch Logs): an object with `send`, the
 * only method Cascade's adapters call. Each command goes to the handler named
 * after its class (`RunTaskCommand`), whose result is the response (or which
 * throws, as the SDK does); every call is recorded with its input. A command
 * without a handler fails the test loudly.
 */
export interface FakeCall {
  command: string;
  input: any;
}

export type FakeHandlers = Record<string, (input: any, call: number) => unknown>;

export interface FakeClient {
  send(command: unknown): Promise<any>;
  calls: FakeCall[];
  /** The inputs of the calls of one command. */
  inputs(command: string): any[];
  handlers: FakeHandlers;
}

export function fakeClient(handlers: FakeHandlers = {}): FakeClient {
  const calls: FakeCall[] = [];
  const counts = new Map<string, number>();
  const fake: FakeClient = {
    calls,
    handlers,
    inputs: (command) => calls.filter((c) => c.command === command).map((c) => c.input),
    async send(command: unknown) {
      const name = (command as { constructor: { name: string } }).constructor.name;
      const input = structuredClone((command as { input: unknown }).input);
      calls.push({ command: name, input });
      const h = fake.handlers[name];
      if (!h) throw new Error(`fake client: no handler for ${name}`);
      const n = (counts.get(name) ?? 0) + 1;
      counts.set(name, n);
      return h(input, n);
    },
  };
  return fake;
}

/** An SDK-shaped service exception (what the SDK throws: a name, a fault and the HTTP status). */
export function sdkError(name: string, message: string, status = 400, fault: "client" | "server" = status >= 500 ? "server" : "client"): Error {
  return Object.assign(new Error(message), { name, $fault: fault, $metadata: { httpStatusCode: status } });
}

/** EventBridge: accepts every entry and gives it an id; `events()` are the CloudEvents put, in order. */
export function fakeEventBridge() {
  let id = 0;
  const client = fakeClient({
    PutEventsCommand: (input) => ({ FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: `eb-${++id}` })) }),
  });
  return {
    client,
    entries: () => client.inputs("PutEventsCommand").flatMap((i) => i.Entries) as any[],
    events: () => client.inputs("PutEventsCommand").flatMap((i) => i.Entries.map((e: any) => JSON.parse(e.Detail))) as any[],
  };
}

/** SQS: accepts every message; `messages()` are the bodies sent, parsed. */
export function fakeSqs() {
  let id = 0;
  const client = fakeClient({
    SendMessageBatchCommand: (input) => ({ Successful: input.Entries.map((e: any) => ({ Id: e.Id, MessageId: `m-${++id}`, MD5OfMessageBody: "" })), Failed: [] }),
    ChangeMessageVisibilityCommand: () => ({}),
  });
  return {
    client,
    messages: () => client.inputs("SendMessageBatchCommand").flatMap((i) => i.Entries.map((e: any) => JSON.parse(e.MessageBody))) as any[],
  };
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection<E = Error>(p: Promise<unknown>): Promise<E> {
  try {
    await p;
  } catch (e) {
    return e as E;
  }
  throw new Error("expected the promise to reject, and it resolved");
}
