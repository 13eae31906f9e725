import { parseAllDocuments } from "yaml";
import { bcKey, checkBuildConfig, type BuildConfig } from "./buildconfig.js";
import { ValidationError } from "./errors.js";

/**
 * Reads BuildConfigs out of the text of one file: YAML or JSON, one or many
 * documents (`---`), each a `BuildConfig` or a `List` / `BuildConfigList` of
 * them, as `oc apply -f` takes them. Pure: text in, values out; the caller
 * reads the file.
 *
 * Empty documents are skipped. Objects of other kinds (ImageStream, Secret,
 * Template...) are skipped with a warning. Every problem of every document is
 * collected, then thrown as one `BuildConfigLoadError` whose message has one
 * line per problem, each naming the file, the document (1-based), the List
 * item when there is one, the BuildConfig and the field path:
 *
 *   app.yaml, document 2 (buildconfig "web"): spec.strategy.dockerStrategy.buildArgs[0].name: expected string, received number
 */

/** One problem found while loading; `path` is empty for a problem with the whole document. */
export type LoadIssue = {
  file: string;
  /** 1-based position of the YAML document in the file. */
  document: number;
  /** 1-based position in the `items` of a List, when the object came from one. */
  item?: number;
  /** `metadata.name`, when the object has a readable one. */
  name?: string;
  path: string;
  message: string;
};

/** A `ValidationError` that also carries the problems one by one (for API responses). */
export class BuildConfigLoadError extends ValidationError {
  readonly issues: readonly LoadIssue[];
  constructor(issues: readonly LoadIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.issues = issues;
  }
}

const LIST_KINDS = new Set(["List", "BuildConfigList"]);

export function loadBuildConfigs(fileName: string, text: string): { configs: BuildConfig[]; warnings: string[] } {
  const configs: BuildConfig[] = [];
  const warnings: string[] = [];
  const issues: LoadIssue[] = [];
  /** Where each BuildConfig key was first seen, to name duplicates. */
  const seen = new Map<string, string>();

  parseAllDocuments(text, { prettyErrors: true }).forEach((doc, i) => {
    const document = i + 1;
    const at = { file: fileName, document };
    if (doc.errors.length > 0) {
      for (const e of doc.errors) issues.push({ ...at, path: "", message: `YAML syntax error${yamlErrorText(e.message, e.linePos)}` });
      return;
    }
    for (const w of doc.warnings) warnings.push(`${fileName}, document ${document}: YAML warning${yamlErrorText(w.message, w.linePos)}`);

    let value: unknown;
    try {
      value = doc.toJS();
    } catch (e) {
      issues.push({ ...at, path: "", message: `YAML error: ${(e as Error).message}` });
      return;
    }
    if (value === null || value === undefined) return; // an empty document

    if (!isObject(value)) {
      issues.push({ ...at, path: "", message: `expected a Kubernetes object (a mapping with kind and apiVersion), got ${describe(value)}` });
      return;
    }
    if (typeof value.kind === "string" && LIST_KINDS.has(value.kind)) {
      if (!Array.isArray(value.items)) {
        issues.push({ ...at, path: "items", message: value.items === undefined ? "required" : `expected array, received ${describe(value.items)}` });
        return;
      }
      value.items.forEach((item, j) => readObject(item, { ...at, item: j + 1 }));
      return;
    }
    readObject(value, at);
  });

  if (issues.length > 0) throw new BuildConfigLoadError(issues);
  return { configs, warnings };

  function readObject(value: unknown, at: { file: string; document: number; item?: number }): void {
    const where = location(at);
    if (!isObject(value)) {
      issues.push({ ...at, path: "", message: `expected a Kubernetes object (a mapping with kind and apiVersion), got ${describe(value)}` });
      return;
    }
    const name = readableName(value);
    const named = name === undefined ? {} : { name };
    if (value.kind === undefined) {
      issues.push({ ...at, ...named, path: "kind", message: "required" });
      return;
    }
    if (value.kind !== "BuildConfig") {
      const what = typeof value.kind === "string" ? value.kind : JSON.stringify(value.kind);
      const hint = value.kind === "Template" ? "; process the template first (oc process)" : "";
      warnings.push(`${where}: skipped ${what}${name === undefined ? "" : ` "${name}"`}: only BuildConfig objects are read${hint}`);
      return;
    }
    const result = checkBuildConfig(value);
    if (!result.ok) {
      for (const e of result.errors) issues.push({ ...at, ...named, path: e.path, message: e.message });
      return;
    }
    const key = bcKey(result.config);
    const first = seen.get(key);
    if (first !== undefined) {
      issues.push({ ...at, ...named, path: "metadata.name", message: `duplicate buildconfig ${key} (first in ${first})` });
      return;
    }
    seen.set(key, where);
    for (const w of result.warnings) warnings.push(`buildconfig "${result.config.metadata.name}" (file ${where}): ${w.message}`);
    configs.push(result.config);
  }
}

/** `app.yaml, document 2` or `app.yaml, document 1, item 3`. */
function location(at: { file: string; document: number; item?: number }): string {
  return `${at.file}, document ${at.document}${at.item === undefined ? "" : `, item ${at.item}`}`;
}

function formatIssue(i: LoadIssue): string {
  const who = i.name === undefined ? "" : ` (buildconfig "${i.name}")`;
  return `${location(i)}${who}: ${i.path === "" ? "" : `${i.path}: `}${i.message}`;
}

/** ` at line 3, column 5: <reason>` from a `yaml` error (whose pretty message appends a code excerpt). */
function yamlErrorText(message: string, linePos: readonly { line: number; col: number }[] | undefined): string {
  const reason = (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
  const start = linePos?.[0];
  return start ? ` at line ${start.line}, column ${start.col}: ${reason}` : `: ${reason}`;
}

function readableName(value: Record<string, unknown>): string | undefined {
  const metadata = value.metadata;
  return isObject(metadata) && typeof metadata.name === "string" && metadata.name !== "" ? metadata.name : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}
