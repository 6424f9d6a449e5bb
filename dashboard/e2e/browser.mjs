// Launches Debian's Chromium through playwright-core for the end-to-end test and the benchmark.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.MOMETRICS_CHROMIUM ?? "/usr/bin/chromium";

// Keeps Chromium from reaching any host on its own: no QUIC, no update or sync traffic.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Starts Chromium with a fresh user-data folder and returns its browser context together with a
 * `close` function that also deletes the folder.
 */
export async function launchBrowser({ viewport = { width: 1280, height: 800 } } = {}) {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}; install it with ` +
        "`apt-get update && apt-get install -y chromium` or set MOMETRICS_CHROMIUM.",
    );
  }
  const userDataDir = mkdtempSync(path.join(tmpdir(), "mometrics-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  const close = async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, close };
}
