/**
 * AWS SDK v3 exceptions turned into Cascade's own errors, shared by the ECS,
 * ECR and SQS adapters: the exception's `name` decides the Cascade error and
 * whether a retry may help (`temporary`). Callers switch on `code`, never on
 * SDK classes, so no handler imports an SDK exception type.
 */
import { CascadeError, NotFoundError, ValidationError } from "../../core/errors.js";

/** Exceptions whose retry may succeed: throttling, capacity, service faults. */
const TEMPORARY = new Set([
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "InternalFailure",
  "InternalServerError",
  "ServerException",
  "LimitExceededException",
  "TimeoutError",
  "RequestTimeout",
  "RequestThrottled",
  "KmsThrottled",
  "OverLimit",
]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENETUNREACH"]);
const NOT_FOUND = new Set([
  "RepositoryNotFoundException",
  "ImageNotFoundException",
  "ClusterNotFoundException",
  "QueueDoesNotExist",
  "ResourceNotFoundException",
]);
const ACCESS = new Set(["AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException", "InvalidClientTokenId"]);
const INVALID = new Set(["InvalidParameterException", "InvalidParameterValue", "ValidationException", "ClientException"]);

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
}

/** Whether an SDK error (or a network failure under it) may go away on retry. */
export function isTemporaryAwsError(e: unknown): boolean {
  if (e instanceof CascadeError) return e.temporary;
  const err = (e ?? {}) as SdkError;
  const status = err.$metadata?.httpStatusCode;
  return (
    TEMPORARY.has(err.name ?? "") ||
    err.$fault === "server" ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    NETWORK_CODES.has(err.code ?? "")
  );
}

/**
 * The Cascade error for an SDK exception. `what` names the operation and the
 * thing it was about (`ECS RunTask for build "ns/web-1"`), so that the message
 * says what failed and with which value.
 */
export function translateAwsError(e: unknown, what: string): CascadeError {
  if (e instanceof CascadeError) return e;
  const err = (e ?? {}) as SdkError;
  const name = err.name ?? "Error";
  const message = `${what}: ${name}: ${err.message ?? String(e)}`;
  if (NOT_FOUND.has(name)) return new NotFoundError(message, { cause: e });
  if (INVALID.has(name) && !isTemporaryAwsError(e)) return new ValidationError(message, { cause: e });
  if (ACCESS.has(name)) return new CascadeError("AccessDenied", message, { cause: e });
  return new CascadeError("AwsError", message, { cause: e, temporary: isTemporaryAwsError(e) });
}
