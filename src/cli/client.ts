/** The CLI's HTTP client for a running `cascade up` (CASCADE_URL). */
import { CascadeError } from "../core/errors.js";

export class ApiError extends CascadeError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
    this.name = "ApiError";
  }
}

export class Client {
  constructor(readonly baseUrl: string) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* plain text */
    }
    if (!res.ok) {
      const e = parsed as { error?: string; message?: string } | undefined;
      throw new ApiError(res.status, e?.error ?? `HTTP${res.status}`, e?.message ?? `${method} ${path}: HTTP ${res.status}`);
    }
    return parsed as T;
  }

  async raw(method: string, path: string, body?: unknown): Promise<Response> {
    try {
      return await fetch(new URL(path, this.baseUrl), {
        method,
        ...(body !== undefined ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}),
      });
    } catch (e) {
      throw new CascadeError(
        "Unreachable",
        `cannot reach Cascade at ${this.baseUrl} (${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}); start it with "cascade up" or set CASCADE_URL`,
      );
    }
  }
}
