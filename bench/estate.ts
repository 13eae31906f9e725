/**
 * The synthetic estate of the planner benchmarks (`plan-scale`, `planning-runtime`): N BuildConfigs
 * shaped like a real estate (40 shared external bases with Zipf popularity, org bases on them,
 * team bases on those, apps on team bases, services on apps, multi-stage diamonds, S2I, git
 * triggers over N/5 repositories), generated from a seed, identical on every run.
 */
import type { GitRefEvent } from "../src/core/events-in.js";

// ---------------------------------------------------------------------------
// Deterministic randomness

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Index in [0, weights.length) drawn by weight (cumulative weights, ascending). */
  weighted(cumulative: readonly number[]): number {
    const x = this.next() * cumulative[cumulative.length - 1]!;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

// ---------------------------------------------------------------------------
// The synthetic estate

/** 40 shared external bases; popularity follows Zipf (s = 1): the first is used about 23% of the time. */
export const EXTERNAL_BASES = [
  "node:20", "python:3.12-slim", "eclipse-temurin:21-jre", "golang:1.22", "nginx:1.27", "alpine:3.20",
  "debian:12-slim", "ubuntu:24.04", "registry.access.redhat.com/ubi9/ubi-minimal:9.4", "registry.access.redhat.com/ubi9/ubi:9.4",
  "node:18", "python:3.11", "ruby:3.3", "php:8.3-fpm", "openjdk:17-slim", "maven:3.9-eclipse-temurin-21",
  "gradle:8-jdk21", "rust:1.80", "mcr.microsoft.com/dotnet/aspnet:8.0", "mcr.microsoft.com/dotnet/sdk:8.0",
  "quay.io/prometheus/busybox:latest", "gcr.io/distroless/static-debian12", "gcr.io/distroless/base-debian12",
  "gcr.io/distroless/java21-debian12", "httpd:2.4", "redis:7", "postgres:16", "haproxy:3.0", "elixir:1.17",
  "erlang:27", "perl:5.40", "tomcat:10-jdk21", "quay.io/keycloak/keycloak:25.0", "amazonlinux:2023",
  "fedora:40", "rockylinux:9", "almalinux:9", "busybox:1.36", "bash:5.2", "docker.io/library/caddy:2",
] as const;

export type Tier = "org" | "team" | "app" | "service";
export type AppShape = "team" | "org" | "external" | "service" | "diamond" | "s2i";

export interface EstateStats {
  configs: number;
  tiers: Record<Tier, number>;
  shapes: Record<AppShape, number>;
  pausedOrNoImageTrigger: number;
  repositories: number;
  maxConfigsPerRepository: number;
  reposWithSeveralBranches: number;
}

export interface Estate {
  raw: unknown[];
  stats: EstateStats;
  /** Per repository: its canonical `host/owner/name` and the branches some BuildConfig builds. */
  repos: { host: string; path: string; branches: Set<string> }[];
  /** Output image (as written) of each org and team base, for image events. */
  teamOutputs: string[];
}

export function generateEstate(n: number, seed: number): Estate {
  const rng = new Rng(seed);
  const zipf: number[] = [];
  EXTERNAL_BASES.forEach((_, i) => zipf.push((zipf[i - 1] ?? 0) + 1 / (i + 1)));
  const external = () => EXTERNAL_BASES[rng.weighted(zipf)]!;

  const nOrg = Math.max(4, Math.round(n * 0.01));
  const nTeam = Math.max(8, Math.round(n * 0.05));
  const nApp = n - nOrg - nTeam;
  const nTeamsNs = Math.max(4, Math.round(n / 50));
  const nPlatformNs = Math.max(2, Math.round(nOrg / 25));
  const nRepos = Math.max(1, Math.round(n / 5));
  const nGitOrgs = Math.max(2, Math.round(nRepos / 40));

  // Repositories: every one gets a BuildConfig, the rest are spread with a skew (some monorepos hold dozens).
  const repoOf: number[] = [];
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (let k = 0; k < n; k++) repoOf[order[k]!] = k < nRepos ? k : Math.floor(nRepos * Math.pow(rng.next(), 1.5));
  const repos = Array.from({ length: nRepos }, (_, r) => ({
    host: r % 5 === 4 ? "git.example.com" : "github.com",
    path: `org-${r % nGitOrgs}/repo-${r}`,
    branches: new Set<string>(),
    first: undefined as string | undefined,
    count: 0,
  }));

  const uriFor = (r: number): string => {
    const { host, path } = repos[r]!;
    const x = rng.next();
    if (x < 0.5) return `https://${host}/${path}.git`;
    if (x < 0.75) return `git@${host}:${path}.git`;
    if (x < 0.9) return `https://${host}/${path}`;
    if (x < 0.95) return `ssh://git@${host}/${path}.git`;
    return `https://${host.toUpperCase()}/${path.toUpperCase()}.git`; // remote paths compare case-insensitively
  };
  const OTHER_BRANCHES = ["release", "develop", "stable", "release-2.x", "staging"];
  /** `ref` as written (undefined: the default branch), and the branch it names. */
  const refFor = (r: number): { ref: string | undefined; branch: string } => {
    const repo = repos[r]!;
    repo.count++;
    let branch: string;
    if (repo.first === undefined || rng.chance(0.6)) branch = repo.first ?? "main";
    else branch = rng.pick(OTHER_BRANCHES);
    repo.first ??= branch;
    repo.branches.add(branch);
    const x = rng.next();
    const ref = branch === "main" && x < 0.2 ? undefined : x < 0.4 ? `refs/heads/${branch}` : branch;
    return { ref, branch };
  };

  const image = (ns: string, name: string) => `registry.example.com/${ns}/${name}:latest`;
  const raw: unknown[] = [];
  const orgOutputs: string[] = [];
  const teamOutputs: string[] = [];
  const appOutputs: string[] = []; // apps on a team base, which services may build on
  const teamsOfOrg = new Map<number, number[]>();
  const orgOfTeam: (number | undefined)[] = [];
  const shapes: Record<AppShape, number> = { team: 0, org: 0, external: 0, service: 0, diamond: 0, s2i: 0 };
  let noTrigger = 0;

  const push = (
    i: number,
    ns: string,
    name: string,
    from: { strategy: "Docker" | "Source"; base?: string; dockerfile?: string },
    imageTrigger: "follow" | "paused" | "none",
  ) => {
    const { ref } = refFor(repoOf[i]!);
    const x = rng.next();
    const hook = x < 0.92 ? { type: "GitHub", github: { secret: `s3cr3t-${i % 97}` } } : x < 0.96 ? { type: "GitLab", gitlab: { secret: `s3cr3t-${i % 97}` } } : { type: "Generic", generic: { secret: `s3cr3t-${i % 97}` } };
    const triggers: unknown[] = [hook, { type: "ConfigChange" }];
    if (imageTrigger !== "none") triggers.push({ type: "ImageChange", imageChange: imageTrigger === "paused" ? { paused: true } : {} });
    else noTrigger++;
    if (imageTrigger === "paused") noTrigger++;
    const fromRef = from.base ? { from: { kind: "DockerImage", name: from.base } } : {};
    raw.push({
      apiVersion: "build.openshift.io/v1",
      kind: "BuildConfig",
      metadata: { name, namespace: ns, labels: { app: name, "app.kubernetes.io/part-of": ns } },
      spec: {
        source: {
          type: "Git",
          git: { uri: uriFor(repoOf[i]!), ...(ref ? { ref } : {}) },
          contextDir: name,
          ...(from.dockerfile ? { dockerfile: from.dockerfile } : {}),
        },
        strategy: from.strategy === "Source" ? { type: "Source", sourceStrategy: fromRef } : { type: "Docker", dockerStrategy: { ...fromRef, buildArgs: [{ name: "VERSION", value: "1" }] } },
        output: { to: { kind: "DockerImage", name: image(ns, name) } },
        triggers,
        runPolicy: "Serial",
        resources: { limits: { cpu: "1", memory: "1Gi" } },
      },
    });
  };

  let i = 0;
  for (let o = 0; o < nOrg; o++, i++) {
    const ns = `platform-${o % nPlatformNs}`;
    push(i, ns, `base-${o}`, { strategy: "Docker", base: external() }, "follow");
    orgOutputs.push(image(ns, `base-${o}`));
  }
  for (let t = 0; t < nTeam; t++, i++) {
    const ns = `team-${t % nTeamsNs}`;
    let base: string;
    if (rng.chance(0.9)) {
      const o = rng.int(nOrg);
      base = orgOutputs[o]!;
      orgOfTeam[t] = o;
      teamsOfOrg.set(o, [...(teamsOfOrg.get(o) ?? []), t]);
    } else base = external();
    push(i, ns, `teambase-${t}`, { strategy: "Docker", base }, "follow");
    teamOutputs.push(image(ns, `teambase-${t}`));
  }
  for (let a = 0; a < nApp; a++, i++) {
    const ns = `team-${rng.int(nTeamsNs)}`;
    const name = `app-${a}`;
    const trig = rng.chance(0.02) ? "paused" : rng.chance(0.03) ? "none" : "follow";
    const x = rng.next();
    if (x < 0.6 || (x >= 0.76 && x < 0.86 && appOutputs.length === 0)) {
      shapes.team++;
      push(i, ns, name, { strategy: "Docker", base: rng.pick(teamOutputs) }, trig);
      appOutputs.push(image(ns, name));
    } else if (x < 0.68) {
      shapes.org++;
      push(i, ns, name, { strategy: "Docker", base: rng.pick(orgOutputs) }, trig);
    } else if (x < 0.76) {
      shapes.external++;
      push(i, ns, name, { strategy: "Docker", base: external() }, trig);
    } else if (x < 0.86) {
      // Four deep: a service built on an app image (external -> org -> team -> app -> service).
      shapes.service++;
      push(i, ns, name, { strategy: "Docker", base: rng.pick(appOutputs) }, trig);
    } else if (x < 0.92) {
      // Multi-stage: FROM two internal images, which share an upstream (siblings, or a team base and its org base).
      shapes.diamond++;
      const t = rng.int(nTeam);
      const o = orgOfTeam[t];
      const siblings = o === undefined ? [] : (teamsOfOrg.get(o) ?? []).filter((s) => s !== t);
      const first = teamOutputs[t]!;
      const second = siblings.length > 0 && rng.chance(0.6) ? teamOutputs[rng.pick(siblings)]! : o !== undefined ? orgOutputs[o]! : rng.pick(orgOutputs);
      const dockerfile = `ARG VERSION\nFROM ${first} AS build\nRUN make build VERSION=$VERSION\nFROM ${second}\nCOPY --from=build /out/ /app/\nUSER 1001\nCMD ["/app/run"]\n`;
      push(i, ns, name, { strategy: "Docker", dockerfile }, trig);
    } else {
      // S2I on an org builder image.
      shapes.s2i++;
      push(i, ns, name, { strategy: "Source", base: rng.pick(orgOutputs) }, trig);
    }
  }
  const stats: EstateStats = {
    configs: raw.length,
    tiers: { org: nOrg, team: nTeam, app: nApp - shapes.service, service: shapes.service },
    shapes,
    pausedOrNoImageTrigger: noTrigger,
    repositories: nRepos,
    maxConfigsPerRepository: Math.max(...repos.map((r) => r.count)),
    reposWithSeveralBranches: repos.filter((r) => r.branches.size > 1).length,
  };
  return { raw, stats, repos, teamOutputs: [...orgOutputs, ...teamOutputs] };
}

/**
 * GitHub-shaped pushes (four URL forms, as `normalizeGitHubPush` gives them)
 * to a repository of the estate at random, on one of its branches (90%) or a
 * feature branch that builds nothing (10%).
 */
export function pushEvents(estate: Estate, rng: Rng, count: number): GitRefEvent[] {
  return Array.from({ length: count }, (_, k) => {
    const repo = rng.pick(estate.repos);
    const branch = rng.chance(0.9) ? rng.pick([...repo.branches]) : `feature/f-${rng.int(1000)}`;
    const base = `${repo.host}/${repo.path}`;
    return {
      kind: "git.ref",
      provider: "github",
      deliveryId: `d-${k}`,
      repository: {
        urls: [`https://${base}.git`, `git@${repo.host}:${repo.path}.git`, `git://${base}.git`, `https://${base}`],
        fullName: repo.path,
        defaultBranch: "main",
      },
      ref: `refs/heads/${branch}`,
      refType: "branch",
      refName: branch,
      before: "1".repeat(40),
      after: (k + 1).toString(16).padStart(40, "0"),
      deleted: false,
      created: false,
    };
  });
}
