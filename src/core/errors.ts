/**
 * Cascade's error classes. Every error carries a stable `code` so that callers
 * (CLI exit paths, HTTP status mapping, Lambda handlers) switch on codes, never
 * on message text. Messages name the thing and the value.
 */
export class CascadeError extends Error {
  readonly code: string;
  /** Whether retrying the same operation may succeed (network blips, 429, 5xx). */
  readonly temporary: boolean;
  constructor(code: string, message: string, options?: { cause?: unknown; temporary?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CascadeError";
    this.code = code;
    this.temporary = options?.temporary ?? false;
  }
}

/** Input that does not satisfy a schema or a rule: maps to exit 2 / HTTP 400. */
export class ValidationError extends CascadeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ValidationError", message, options);
    this.name = "ValidationError";
  }
}

/** A named thing (BuildConfig, build, subscriber) does not exist: HTTP 404. */
export class NotFoundError extends CascadeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("NotFound", message, options);
    this.name = "NotFoundError";
  }
}

/** A request is not authenticated (bad webhook signature or secret): HTTP 401. */
export class UnauthorizedError extends CascadeError {
  constructor(message: string) {
    super("Unauthorized", message);
    this.name = "UnauthorizedError";
  }
}

/** A state change that conflicts with the current state (e.g. cancelling a finished build): HTTP 409. */
export class ConflictError extends CascadeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("Conflict", message, options);
    this.name = "ConflictError";
  }
}

/** A registry operation failed; `temporary` says whether a retry may help. */
export class RegistryError extends CascadeError {
  readonly status: number | undefined;
  constructor(message: string, options: { status?: number; temporary?: boolean; cause?: unknown } = {}) {
    super("RegistryError", message, options);
    this.name = "RegistryError";
    this.status = options.status;
  }
}
