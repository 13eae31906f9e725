/**
 * Durations written as Go writes them (`168h`, `1h30m`, `90s`): the form
 * buildah's `--cache-ttl` takes, so that one value serves both buildah and
 * Cascade's own cache pruning. Pure.
 */
import { ValidationError } from "./errors.js";

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const PART_RE = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;

/** Milliseconds in a Go duration; throws a ValidationError naming `what` and the value. */
export function parseDuration(value: string, what: string): number {
  const text = value.trim();
  let ms = 0;
  let at = 0;
  if (text === "") throw new ValidationError(`${what} is empty; expected a duration such as 168h or 1h30m`);
  while (at < text.length) {
    PART_RE.lastIndex = at;
    const m = PART_RE.exec(text);
    if (!m) throw new ValidationError(`${what} "${value}" is not a duration; expected a number and a unit (h, m, s, ms), e.g. 168h or 1h30m`);
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = PART_RE.lastIndex;
  }
  if (ms <= 0) throw new ValidationError(`${what} "${value}" must be longer than zero`);
  return ms;
}
