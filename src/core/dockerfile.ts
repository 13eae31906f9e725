/**
 * Dockerfile reading for what Cascade needs: the build stages, the base image
 * of each (with global ARGs substituted, as BuildKit does), and a rewrite of
 * chosen FROM lines that leaves every other byte untouched (to pin bases to
 * digests, or to apply OpenShift's `dockerStrategy.from`). Follows BuildKit's
 * parser: parser directives, `#` comment lines (also inside continuations),
 * the escape character, line continuations, and heredocs on RUN/COPY/ADD.
 * Pure: no I/O.
 */
import { z } from "zod";
import { CascadeError, ValidationError } from "./errors.js";
import { normalizeImageRef, parseImageRef } from "./image-ref.js";

export const BaseKind = z.enum(["external", "stage", "scratch"]);
export type BaseKind = z.infer<typeof BaseKind>;

export const Stage = z.object({
  /** 0-based position among the FROM instructions. */
  index: z.number().int().nonnegative(),
  /** `AS name`, lowercased (stage names are case-insensitive). */
  name: z.string().optional(),
  /** The base after global ARG substitution, as written otherwise (not normalised). */
  from: z.string(),
  /** The base exactly as written, e.g. `node:${NODE_VERSION}`. */
  rawFrom: z.string(),
  /** The raw `--platform=` value, unexpanded (it may use `$BUILDPLATFORM`). */
  platform: z.string().optional(),
  /** 1-based line of the FROM keyword. */
  line: z.number().int().positive(),
  baseKind: BaseKind,
  /** For `baseKind: "stage"`, the index of the earlier stage it builds on. */
  baseStage: z.number().int().nonnegative().optional(),
});
export type Stage = z.infer<typeof Stage>;

export const DockerfileInfo = z.object({
  stages: z.array(Stage).min(1),
  /** Distinct normalised references of the external bases, in order of first appearance. */
  externalBases: z.array(z.string()),
  /** ARGs declared before the first FROM, with effective values (build args win; undefined when unset). */
  globalArgs: z.record(z.string(), z.string().optional()),
});
export type DockerfileInfo = z.infer<typeof DockerfileInfo>;

/** Platform ARGs BuildKit defines without a declaration; here they take their value only from build args. */
const AUTOMATIC_PLATFORM_ARGS = [
  "BUILDPLATFORM",
  "BUILDOS",
  "BUILDARCH",
  "BUILDVARIANT",
  "TARGETPLATFORM",
  "TARGETOS",
  "TARGETARCH",
  "TARGETVARIANT",
];
const KNOWN_DIRECTIVES = new Set(["syntax", "escape", "check"]);
const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;
const HEREDOC_COMMANDS = new Set(["run", "copy", "add"]);
const HEREDOC_RE = /^\d*<<(-?)([^<]+)$/;

/** One logical instruction: continuation lines joined, comment lines dropped. */
interface Instruction {
  /** Lowercased keyword. */
  keyword: string;
  /** 1-based line where the instruction starts. */
  line: number;
  /** The logical line, left-trimmed, continuations removed. */
  text: string;
  /** `offsets[i]` is the index in the original text of `text[i]`. */
  offsets: number[];
}

interface Word {
  value: string;
  /** Index in `Instruction.text` of the first character. */
  start: number;
  /** Index in `Instruction.text` just past the last character. */
  end: number;
}

interface FromInstruction {
  instruction: Instruction;
  platform: string | undefined;
  image: Word;
  name: string | undefined;
}

interface PhysicalLine {
  /** Offset of the line's first character in the original text. */
  start: number;
  /** The line without `\n` and a trailing `\r`. */
  content: string;
}

function lineError(line: number, message: string, cause?: unknown): ValidationError {
  return new ValidationError(`Dockerfile line ${line}: ${message}`, cause === undefined ? undefined : { cause });
}

function splitLines(text: string): PhysicalLine[] {
  const lines: PhysicalLine[] = [];
  let start = text.startsWith("\uFEFF") ? 1 : 0;
  while (start <= text.length) {
    const newline = text.indexOf("\n", start);
    const end = newline < 0 ? text.length : newline;
    lines.push({ start, content: text.slice(start, end).replace(/\r$/, "") });
    if (newline < 0) break;
    start = newline + 1;
  }
  return lines;
}

/** Reads the parser directives at the top; returns the escape character. */
function readDirectives(lines: PhysicalLine[]): string {
  const seen = new Set<string>();
  let escape = "\\";
  for (const [i, { content }] of lines.entries()) {
    const match = DIRECTIVE_RE.exec(content);
    const key = match?.[1]?.toLowerCase();
    if (match === null || key === undefined || !KNOWN_DIRECTIVES.has(key)) break;
    if (seen.has(key)) throw lineError(i + 1, `only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === "escape") {
      const value = match[2] as string;
      if (value !== "\\" && value !== "`") {
        throw lineError(i + 1, `invalid escape character ${JSON.stringify(value)}: must be \` or \\`);
      }
      escape = value;
    }
  }
  return escape;
}

const isComment = (content: string): boolean => /^\s*#/.test(content);

function scan(text: string): { escape: string; instructions: Instruction[]; lineCount: number } {
  const lines = splitLines(text);
  const escape = readDirectives(lines);
  const continuation = new RegExp(`${escape === "\\" ? "\\\\" : escape}[ \\t]*$`);
  const instructions: Instruction[] = [];

  let i = 0;
  while (i < lines.length) {
    const first = lines[i] as PhysicalLine;
    const line = i + 1;
    i++;
    if (isComment(first.content)) continue;
    const indent = /^\s*/.exec(first.content)?.[0].length ?? 0;
    if (indent === first.content.length) continue;

    let text = "";
    const offsets: number[] = [];
    const append = (physical: PhysicalLine, from: number): boolean => {
      const content = physical.content.slice(from);
      const cont = continuation.exec(content);
      const piece = cont === null ? content : content.slice(0, cont.index);
      for (let k = 0; k < piece.length; k++) offsets.push(physical.start + from + k);
      text += piece;
      return cont !== null;
    };
    let continued = append(first, indent);
    while (continued && i < lines.length) {
      const next = lines[i] as PhysicalLine;
      i++;
      if (isComment(next.content) || next.content.trim() === "") continue;
      continued = append(next, 0);
    }
    if (text.trim() === "") continue;

    const keyword = (/^\S+/.exec(text)?.[0] ?? "").toLowerCase();
    instructions.push({ keyword, line, text, offsets });

    if (HEREDOC_COMMANDS.has(keyword)) i = skipHeredocs(text, lines, i);
  }
  return { escape, instructions, lineCount: lines.length };
}

/** Skips the bodies of the heredocs an instruction opens (`RUN <<EOF`, `COPY <<-"A" <<B /dst`). */
function skipHeredocs(text: string, lines: PhysicalLine[], next: number): number {
  const words = text.split(/\s+/).slice(1);
  if (words[0]?.startsWith("[")) return next; // JSON form has no heredocs
  let i = next;
  for (const word of words) {
    const match = HEREDOC_RE.exec(word);
    if (match === null) continue;
    const chomp = match[1] === "-";
    const terminator = (match[2] as string).replace(/["']/g, "");
    if (terminator === "") continue;
    while (i < lines.length) {
      const content = (lines[i] as PhysicalLine).content;
      i++;
      if ((chomp ? content.replace(/^\t+/, "") : content) === terminator) break;
    }
  }
  return i;
}

function words(text: string): Word[] {
  const out: Word[] = [];
  for (const match of text.matchAll(/[^\s]+/g)) {
    out.push({ value: match[0], start: match.index, end: match.index + match[0].length });
  }
  return out;
}

function parseFrom(instruction: Instruction): FromInstruction {
  const { line } = instruction;
  const all = words(instruction.text).slice(1);
  let platform: string | undefined;
  let k = 0;
  for (; k < all.length; k++) {
    const word = (all[k] as Word).value;
    if (!word.startsWith("--")) break;
    if (word === "--") {
      k++;
      break;
    }
    const eq = word.indexOf("=");
    const flag = eq < 0 ? word.slice(2) : word.slice(2, eq);
    if (flag !== "platform") throw lineError(line, `unknown flag ${JSON.stringify(`--${flag}`)} on FROM`);
    if (eq < 0 || eq === word.length - 1) throw lineError(line, "FROM --platform needs a value (--platform=<os/arch>)");
    if (platform !== undefined) throw lineError(line, "FROM has more than one --platform flag");
    platform = word.slice(eq + 1);
  }
  const args = all.slice(k);
  const image = args[0];
  if (image === undefined) throw lineError(line, "FROM names no image");
  if (args.length === 1) return { instruction, platform, image, name: undefined };
  if (args.length === 3 && (args[1] as Word).value.toLowerCase() === "as") {
    const name = (args[2] as Word).value.toLowerCase();
    if (!STAGE_NAME_RE.test(name)) {
      throw lineError(
        line,
        `invalid stage name ${JSON.stringify((args[2] as Word).value)}: it must start with a letter and contain only letters, digits, '-', '_' and '.'`,
      );
    }
    return { instruction, platform, image, name };
  }
  throw lineError(line, `FROM takes an image and optionally "AS <name>", got ${JSON.stringify(args.map((w) => w.value).join(" "))}`);
}

/** Splits ARG arguments on whitespace, keeping quoted and escaped text (BuildKit's parseWords). */
function argWords(text: string, escape: string): string[] {
  const out: string[] = [];
  let word = "";
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote === undefined && /\s/.test(c)) {
      if (word !== "") out.push(word);
      word = "";
      continue;
    }
    if (c === escape && i + 1 < text.length && quote !== "'") {
      word += c + (text[i + 1] as string);
      i++;
      continue;
    }
    if (quote === undefined && (c === '"' || c === "'")) quote = c;
    else if (c === quote) quote = undefined;
    word += c;
  }
  if (word !== "") out.push(word);
  return out;
}

/**
 * Shell-style word expansion as BuildKit's shlex does it: quotes removed, the
 * escape character escapes the next one, `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`, `${VAR:?message}`.
 */
class WordExpander {
  private pos = 0;
  constructor(
    private readonly src: string,
    private readonly escape: string,
    private readonly env: ReadonlyMap<string, string | undefined>,
  ) {}

  expand(): string {
    return this.word(false);
  }

  private word(inBraces: boolean): string {
    let out = "";
    while (this.pos < this.src.length) {
      const c = this.src[this.pos] as string;
      if (inBraces && c === "}") return out;
      if (c === this.escape) {
        this.pos++;
        out += this.pos < this.src.length ? (this.src[this.pos++] as string) : c;
      } else if (c === "'") {
        const end = this.src.indexOf("'", this.pos + 1);
        if (end < 0) throw new ValidationError(`unterminated single quote in ${JSON.stringify(this.src)}`);
        out += this.src.slice(this.pos + 1, end);
        this.pos = end + 1;
      } else if (c === '"') {
        out += this.doubleQuoted();
      } else if (c === "$") {
        out += this.dollar();
      } else {
        out += c;
        this.pos++;
      }
    }
    if (inBraces) throw new ValidationError(`missing '}' in ${JSON.stringify(this.src)}`);
    return out;
  }

  private doubleQuoted(): string {
    let out = "";
    this.pos++;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos] as string;
      const next = this.src[this.pos + 1];
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === this.escape && (next === '"' || next === "$" || next === this.escape)) {
        out += next;
        this.pos += 2;
      } else if (c === "$") {
        out += this.dollar();
      } else {
        out += c;
        this.pos++;
      }
    }
    throw new ValidationError(`unterminated double quote in ${JSON.stringify(this.src)}`);
  }

  private name(): string {
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos));
    const name = match?.[0] ?? "";
    this.pos += name.length;
    return name;
  }

  private dollar(): string {
    const next = this.src[this.pos + 1];
    if (next !== "{") {
      if (next === undefined || !/[A-Za-z_]/.test(next)) {
        this.pos++;
        return "$";
      }
      this.pos++;
      return this.env.get(this.name()) ?? "";
    }
    this.pos += 2;
    const name = this.name();
    if (name === "") throw new ValidationError(`bad substitution in ${JSON.stringify(this.src)}`);
    const value = this.env.get(name);
    if (this.pos >= this.src.length) throw new ValidationError(`missing '}' in ${JSON.stringify(this.src)}`);
    if (this.src[this.pos] === "}") {
      this.pos++;
      return value ?? "";
    }
    const colon = this.src[this.pos] === ":";
    if (colon) this.pos++;
    const modifier = this.src[this.pos];
    if (modifier !== "-" && modifier !== "+" && modifier !== "?") {
      throw new ValidationError(
        `unsupported substitution \${${name}${colon ? ":" : ""}${modifier ?? ""}...} in ${JSON.stringify(this.src)}`,
      );
    }
    this.pos++;
    const word = this.word(true);
    this.pos++; // the closing '}'
    const set = colon ? value !== undefined && value !== "" : value !== undefined;
    switch (modifier) {
      case "-":
        return set ? (value as string) : word;
      case "+":
        return set ? word : "";
      case "?":
        if (!set) throw new ValidationError(`${name}: ${word === "" ? "parameter not set" : word}`);
        return value as string;
    }
  }
}

function expandWord(word: string, escape: string, env: ReadonlyMap<string, string | undefined>): string {
  return new WordExpander(word, escape, env).expand();
}

/**
 * Parses the stages of a Dockerfile. Only ARGs declared before the first FROM
 * apply to FROM lines; `buildArgs` override their defaults. The automatic
 * platform ARGs (`TARGETARCH`, `BUILDPLATFORM`, ...) take values from
 * `buildArgs` only. Throws ValidationError naming the line on malformed input.
 */
export function parseDockerfile(text: string, buildArgs: Record<string, string> = {}): DockerfileInfo {
  const { escape, instructions, lineCount } = scan(text);
  const env = new Map<string, string | undefined>();
  for (const key of AUTOMATIC_PLATFORM_ARGS) {
    if (Object.hasOwn(buildArgs, key)) env.set(key, buildArgs[key]);
  }
  const globalArgs: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  const stageByName = new Map<string, number>();
  const externalBases: string[] = [];

  for (const instruction of instructions) {
    const { keyword, line } = instruction;
    if (stages.length === 0 && keyword === "arg") {
      const declared = argWords(instruction.text.replace(/^\S+/, ""), escape);
      if (declared.length === 0) throw lineError(line, "ARG needs a name");
      for (const word of declared) {
        const eq = word.indexOf("=");
        const key = eq < 0 ? word : word.slice(0, eq);
        if (key === "") throw lineError(line, `ARG ${JSON.stringify(word)} has no name`);
        let value: string | undefined;
        if (eq >= 0) {
          try {
            value = expandWord(word.slice(eq + 1), escape, env);
          } catch (err) {
            throw lineError(line, `ARG ${key}: ${(err as Error).message}`, err);
          }
        }
        if (Object.hasOwn(buildArgs, key)) value = buildArgs[key];
        globalArgs[key] = value;
        env.set(key, value);
      }
      continue;
    }
    if (keyword !== "from") {
      if (stages.length === 0) {
        throw lineError(line, `${keyword.toUpperCase()} comes before the first FROM; only ARG may`);
      }
      continue;
    }

    const from = parseFrom(instruction);
    const rawFrom = from.image.value;
    let expanded: string;
    try {
      expanded = expandWord(rawFrom, escape, env);
    } catch (err) {
      throw lineError(line, `FROM ${JSON.stringify(rawFrom)}: ${(err as Error).message}`, err);
    }
    if (expanded === "") throw lineError(line, `FROM ${JSON.stringify(rawFrom)} expands to an empty image name`);

    const stage: Stage = { index: stages.length, from: expanded, rawFrom, line, baseKind: "external" };
    if (from.name !== undefined) stage.name = from.name;
    if (from.platform !== undefined) stage.platform = from.platform;
    const baseStage = stageByName.get(expanded.toLowerCase());
    if (baseStage !== undefined) {
      stage.baseKind = "stage";
      stage.baseStage = baseStage;
    } else if (expanded === "scratch") {
      stage.baseKind = "scratch";
    } else {
      let normalized: string;
      try {
        normalized = normalizeImageRef(expanded);
      } catch (err) {
        throw lineError(line, (err as Error).message, err);
      }
      if (!externalBases.includes(normalized)) externalBases.push(normalized);
    }
    if (from.name !== undefined) {
      const earlier = stageByName.get(from.name);
      if (earlier !== undefined) {
        throw lineError(line, `duplicate stage name ${JSON.stringify(from.name)} (first used on line ${stages[earlier]?.line})`);
      }
      stageByName.set(from.name, stage.index);
    }
    stages.push(stage);
  }
  if (stages.length === 0) {
    throw new ValidationError(`Dockerfile has no FROM instruction (read ${lineCount} lines)`);
  }
  return { stages, externalBases, globalArgs };
}

/** Index of the final stage: the one `docker build` produces, and the one OpenShift's `dockerStrategy.from` replaces. */
export function lastStageIndex(info: DockerfileInfo): number {
  return info.stages.length - 1;
}

/**
 * Replaces the base image of the given stages (by stage index) and returns
 * the new text; flags, `AS name`, comments, spacing and line endings stay
 * byte-identical. Each replacement must be a valid image reference.
 */
export function rewriteFrom(text: string, replacements: Map<number, string>): string {
  const froms = scan(text).instructions.filter((instruction) => instruction.keyword === "from");
  const edits: { start: number; end: number; image: string }[] = [];
  for (const [index, image] of replacements) {
    const instruction = froms[index];
    if (instruction === undefined) {
      throw new ValidationError(`cannot rewrite FROM of stage ${index}: the Dockerfile has ${froms.length} stages`);
    }
    try {
      parseImageRef(image);
    } catch (err) {
      if (err instanceof CascadeError) throw lineError(instruction.line, `replacement base: ${err.message}`, err);
      throw err;
    }
    const { image: word } = parseFrom(instruction);
    const start = instruction.offsets[word.start] as number;
    const end = (instruction.offsets[word.end - 1] as number) + 1;
    edits.push({ start, end, image });
  }
  edits.sort((a, b) => b.start - a.start);
  let out = text;
  for (const edit of edits) out = out.slice(0, edit.start) + edit.image + out.slice(edit.end);
  return out;
}

/**
 * A value as one double-quoted Dockerfile word (`LABEL "k"="v"`, `ENV
 * k="v"`) for a file whose escape character is `escape`. Inside double
 * quotes the parser honours only the escape before `"`, `$` and itself; a
 * raw newline would end the instruction, so newlines and other control
 * characters become the text `\n`, `\r`, `\u001b` (as S2I's `sanitize`
 * does), and `altered` says so. Nothing in `value` can end the word, expand
 * a variable or start an instruction.
 */
export function quoteWord(value: string, escape = "\\"): { text: string; altered: boolean } {
  let altered = false;
  let out = "";
  for (const ch of value) {
    switch (ch) {
      case escape:
      case '"':
      case "$":
        out += escape + ch;
        break;
      case "\n":
        out += "\\n";
        altered = true;
        break;
      case "\r":
        out += "\\r";
        altered = true;
        break;
      default: {
        const code = ch.codePointAt(0) as number;
        if ((code < 0x20 && ch !== "\t") || code === 0x7f || code === 0x85 || code === 0x2028 || code === 0x2029) {
          out += `\\u${code.toString(16).padStart(4, "0")}`;
          altered = true;
        } else out += ch;
      }
    }
  }
  return { text: `"${out}"`, altered };
}

/**
 * The Dockerfile with one `LABEL` instruction appended to its last stage,
 * quoted for the file's own escape character. One instruction is one build
 * step: as many `--label` flags would each be a step of their own under
 * `--layers`, and each a cache entry.
 */
export function appendLabels(text: string, labels: readonly (readonly [string, string])[]): string {
  if (labels.length === 0) return text;
  const escape = readDirectives(splitLines(text));
  const words = labels.map(([k, v]) => `${quoteWord(k, escape).text}=${quoteWord(v, escape).text}`);
  return `${text.endsWith("\n") || text === "" ? text : `${text}\n`}LABEL ${words.join(" ")}\n`;
}

/** A `RUN --mount=type=secret` the Dockerfile makes: the id it names, and whether the build needs it. */
export interface SecretMount {
  id: string;
  required: boolean;
  line: number;
}

/**
 * Every `RUN --mount=type=secret,...` in the Dockerfile, in order, one per id.
 * The id defaults to the basename of `target` (or `dst`), as BuildKit and
 * buildah do; `required=true` makes a missing secret an error at build time.
 */
export function secretMounts(text: string): SecretMount[] {
  const out: SecretMount[] = [];
  for (const instruction of scan(text).instructions) {
    if (instruction.keyword !== "run") continue;
    for (const w of words(instruction.text).slice(1)) {
      if (!w.value.startsWith("--")) break;
      const m = /^--mount=(.*)$/.exec(w.value);
      if (!m) continue;
      const opts = new Map<string, string>();
      for (const part of m[1]!.split(",")) {
        const eq = part.indexOf("=");
        opts.set((eq < 0 ? part : part.slice(0, eq)).toLowerCase(), eq < 0 ? "true" : part.slice(eq + 1));
      }
      if (opts.get("type") !== "secret") continue;
      const target = opts.get("target") ?? opts.get("dst") ?? opts.get("destination");
      const id = opts.get("id") ?? (target ? target.split("/").filter(Boolean).pop() : undefined);
      if (!id) throw lineError(instruction.line, `RUN --mount=type=secret needs an id (or a target)`);
      const required = /^(true|1)?$/i.test(opts.get("required") ?? "false") && opts.has("required");
      const seen = out.find((s) => s.id === id);
      if (seen) seen.required ||= required;
      else out.push({ id, required, line: instruction.line });
    }
  }
  return out;
}
