/** Transport-neutral HTTP request and response, shared by the local server and API Gateway handlers. */
export interface HttpRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Header names lowercased. */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialisable value, or a string sent as text/plain. */
  body?: unknown;
}

export const json = (status: number, body: unknown): HttpResponse => ({ status, body });
