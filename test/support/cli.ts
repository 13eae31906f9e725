/** Run the `cascade` command as a user would, against a running Cascade. */
import { execFile } from "node:child_process";
import { join } from "node:path";

const CLI = join(import.meta.dirname, "..", "..", "bin", "cascade");

export function cascade(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
