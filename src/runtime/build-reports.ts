/**
 * What a build keeps of its builder's reports, for every runtime: the local
 * worker applies them as they arrive on fd 3, the AWS `task-stopped` handler
 * folds the list the builder task recorded in the table. One reducer, so the
 * two cannot drift. Pure.
 */
import type { BuilderReport } from "../builder/job.js";
import type { Build, BuildInputs } from "../core/build.js";

export interface ReportedBuild {
  inputs: BuildInputs;
  outputs?: Build["outputs"];
  cache?: Build["cache"];
  imageCheck?: Build["imageCheck"];
  failure?: { reason: string; message: string };
}

export function applyReport(s: ReportedBuild, r: BuilderReport): ReportedBuild {
  switch (r.type) {
    case "source":
      return {
        ...s,
        inputs: {
          ...s.inputs,
          source: {
            ...s.inputs.source!,
            commit: r.commit,
            ...(r.author ? { author: r.author } : {}),
            ...(r.date ? { date: r.date } : {}),
            ...(r.message ? { message: r.message.split("\n")[0] } : {}),
          },
        },
      };
    case "bases":
      return { ...s, inputs: { ...s.inputs, bases: r.bases } };
    case "pushed":
      return { ...s, outputs: { image: r.image, digest: r.digest, tags: r.tags, ...(r.unchanged ? { unchanged: true } : {}) } };
    case "cache":
      return { ...s, cache: { repository: r.repository, steps: r.steps } };
    case "imageCheck":
      return { ...s, imageCheck: r.check };
    case "failed":
      return { ...s, failure: { reason: r.reason, message: r.message } };
    default: {
      const never: never = r;
      return never;
    }
  }
}

export function foldReports(inputs: BuildInputs, reports: readonly BuilderReport[]): ReportedBuild {
  return reports.reduce(applyReport, { inputs });
}
