/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The control plane serves dist/ at "/" and the REST API at /api/v1 on the same origin.
export default defineConfig({
  plugins: [react()],
  server: {
    host: "127.0.0.1",
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", changeOrigin: false },
    },
  },
  build: {
    outDir: "dist",
    rollupOptions: {
      output: {
        // Libraries change less often than the app, so they get their own cacheable chunks.
        manualChunks: {
          react: ["react", "react-dom", "react-router-dom"],
          mui: ["@mui/material", "@emotion/react", "@emotion/styled"],
          query: ["@tanstack/react-query"],
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    // Component tests with user-event take 1-5 s each on a busy 2-core machine, so the default
    // 5 s limit fails them at random. This limit still stops a hung test.
    testTimeout: 30_000,
  },
});
