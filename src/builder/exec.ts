/**
 * Run a child process inside the builder, streaming its output into the
 * build log line by line, and keeping the tail for failure messages.
 */
import { spawn } from "node:child_process";

export interface ExecResult {
  code: number;
  tail: string[];
  stdout: string;
}

export class StepFailed extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "StepFailed";
  }
}

export type LogSink = (line: string) => void;

export function exec(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; log: LogSink; captureStdout?: boolean; quiet?: boolean },
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    let stdout = "";
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      if (!opts.quiet) opts.log(line);
    };
    const splitter = () => {
      let buf = "";
      return {
        push(chunk: Buffer) {
          buf += chunk.toString("utf8");
          let i: number;
          while ((i = buf.indexOf("\n")) >= 0) {
            onLine(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        },
        end() {
          if (buf) onLine(buf);
          buf = "";
        },
      };
    };
    const out = splitter();
    const err = splitter();
    child.stdout.on("data", (c: Buffer) => {
      if (opts.captureStdout) stdout += c.toString("utf8");
      else out.push(c);
    });
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => {
      out.end();
      err.end();
      resolve({ code: code ?? 1, tail, stdout });
    });
  });
}

/** The most telling line of a failed tool's output: the last one naming an error, else the last line. */
export function errorLine(tail: string[]): string {
  for (let i = tail.length - 1; i >= 0; i--) {
    const l = tail[i]!;
    if (/error|fatal|failed|denied|not found|unknown/i.test(l)) return l.trim();
  }
  return (tail[tail.length - 1] ?? "").trim();
}
