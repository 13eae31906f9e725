/**
 * A Lambda handler whose clients and runtime are made once per execution
 * environment, on the first event, by `init` (which the bench calls directly
 * to measure a cold start). Importing a function's module constructs nothing.
 */
export function lazyHandler<E, R>(init: () => (event: E) => Promise<R>): (event: E) => Promise<R> {
  let h: ((event: E) => Promise<R>) | undefined;
  return (event) => (h ??= init())(event);
}
