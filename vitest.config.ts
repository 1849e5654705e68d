import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["default"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["operator/**/*.test.ts", "detector/**/*.test.ts", "test/unit/**/*.test.ts", "test/console/**/*.test.ts"],
          globalSetup: ["test/postgres/global-setup.ts"],
        },
      },
      {
        test: {
          name: "cluster",
          include: ["test/cluster/**/*.test.ts"],
          globalSetup: ["test/setup/control-plane.ts", "test/postgres/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
