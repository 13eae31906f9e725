/**
 * Secret redaction for build logs and messages: every occurrence of a secret
 * value (and of each line of a multi-line value, such as a PEM key) becomes
 * `[redacted]`. Pure. Values shorter than 4 characters are not redacted:
 * they would blank out ordinary words and hide nothing worth hiding.
 */
export const REDACTED = "[redacted]";
const MIN_LENGTH = 4;

export type Redactor = (text: string) => string;

export function makeRedactor(values: Iterable<string>): Redactor {
  const needles = new Set<string>();
  for (const v of values) {
    for (const piece of [v, v.trim(), ...v.split(/\r?\n/).map((l) => l.trim())]) {
      if (piece.length >= MIN_LENGTH) needles.add(piece);
    }
  }
  if (needles.size === 0) return (t) => t;
  // Longest first, so that a whole value wins over one of its lines.
  const sorted = [...needles].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(sorted.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  return (text) => text.replace(pattern, REDACTED);
}
