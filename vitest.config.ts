import { defineConfig } from "vitest/config";

// Unit tests (`*.test.ts`) are pure and fast; integration tests
// (`*.int.test.ts`) run real buildah, git, SQLite and the registry, so they
// run one file at a time on this two-core machine.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "functions/**/*.test.ts", "test/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "node_modules/**", "dist/**"],
        },
      },
      {
        test: {
          name: "int",
          include: ["src/**/*.int.test.ts", "test/**/*.int.test.ts"],
          exclude: ["node_modules/**", "dist/**"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
