/** SourceChanges port: the files a push changed, when its payload does not list them (for `spec.paths`). */
export interface SourceChanges {
  /** Repository-relative paths changed between two commits, or undefined when they cannot be known. */
  changedFiles(uri: string, before: string, after: string): Promise<string[] | undefined>;
}
