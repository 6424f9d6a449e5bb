// End-to-end walk through the built dashboard in headless Chromium against a running stack.
//
// tests/dashboard/test_dashboard_browser.py starts the api (serving dashboard/dist), the gateway,
// agents in three regions and an HTTP target, then runs this script with these variables:
//   MOMETRICS_E2E_BASE_URL            the api's origin, e.g. http://127.0.0.1:8123
//   MOMETRICS_E2E_TARGET_URL          URL of the HTTP target the monitor checks
//   MOMETRICS_E2E_TARGET_STOP_URL     POST here to stop the target (connections then fail)
//   MOMETRICS_E2E_REGIONS             comma-separated regions with a live agent
//   MOMETRICS_E2E_SCREENSHOT_DIR      folder for the PNG screenshots
// The script exits with status 1 and a message on the first failed check.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { launchBrowser } from "./browser.mjs";

const BASE_URL = requireEnv("MOMETRICS_E2E_BASE_URL");
const TARGET_URL = requireEnv("MOMETRICS_E2E_TARGET_URL");
const TARGET_STOP_URL = requireEnv("MOMETRICS_E2E_TARGET_STOP_URL");
const REGIONS = requireEnv("MOMETRICS_E2E_REGIONS").split(",");
const SCREENSHOT_DIR = requireEnv("MOMETRICS_E2E_SCREENSHOT_DIR");

const EMAIL = "browser@example.org";
const PASSWORD = "browser-e2e-password";
const MONITOR_NAME = "Local target";
const EDITED_NAME = "Local target (edited)";
const PHONE_VIEWPORT = { width: 390, height: 844 };
const DESKTOP_VIEWPORT = { width: 1280, height: 800 };
// Agents check every 10 s and a region turns down after a few failures, so allow several rounds.
const STATE_TIMEOUT_MS = 75_000;
// Latency and uptime count a result once its minute is over, plus one agent interval.
const LATENCY_TIMEOUT_MS = 80_000;

function requireEnv(name) {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set; run this script through pytest tests/dashboard.`);
  return value;
}

function step(message) {
  console.log(`[e2e] ${message}`);
}

/** Records console errors and uncaught exceptions, except 401s that the refresh step expects. */
function watchConsole(page, state) {
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const text = message.text();
    if (state.isUnauthorizedExpected && text.includes("status of 401")) return;
    state.errors.push(`console error on ${page.url()}: ${text}`);
  });
  page.on("pageerror", (error) => state.errors.push(`uncaught on ${page.url()}: ${error.message}`));
}

async function screenshot(page, name) {
  // Wait for fonts, lazy chunks and the last render before taking the picture.
  await page.waitForLoadState("networkidle");
  await page.evaluate(() => document.fonts.ready);
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false, animations: "disabled" });
  step(`saved ${file}`);
}

function regionChip(page, region, label) {
  return page.locator(`[aria-label="${region}: ${label}"]`);
}

async function waitForRegionChips(page, label) {
  for (const region of REGIONS) {
    await regionChip(page, region, label).first().waitFor({ timeout: STATE_TIMEOUT_MS });
  }
}

async function assertNoHorizontalOverflow(page, where) {
  const widths = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(
    widths.scroll <= widths.client,
    `${where} is ${widths.scroll} px wide on a ${widths.client} px viewport`,
  );
}

/** Sends a request to the REST API with the page's access token and returns status and body. */
async function apiRequest(page, method, path, body) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const tokens = JSON.parse(window.localStorage.getItem("mometrics.tokens"));
      const headers = { Authorization: `Bearer ${tokens.accessToken}` };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const response = await fetch(`/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    { method, path, body },
  );
}

/** Clicks "Test now" and waits for a result from every region. */
async function runTestNow(page) {
  await page.getByRole("button", { name: "Test now" }).click();
  const table = page.getByRole("table", { name: "Test results per region" });
  // A run waits at most the monitor's timeout plus 5 s for the agents.
  await table.waitFor({ timeout: 30_000 });
  for (const region of REGIONS) {
    await table.getByRole("row", { name: new RegExp(`^${region} Up`) }).waitFor();
  }
  const missing = await page.getByRole("list", { name: "Regions without a result" }).count();
  assert.equal(missing, 0, "a region returned no test result");
  await table.scrollIntoViewIfNeeded();
}

/**
 * Waits until the latency API has points for the monitor, then reloads the page. Windows end at
 * the start of the current minute, so a new monitor's first results show after up to a minute.
 */
async function waitForLatencyData(page, monitorId) {
  const deadline = Date.now() + LATENCY_TIMEOUT_MS;
  for (;;) {
    const latency = await apiRequest(page, "GET", `/monitors/${monitorId}/latency?window=24h`);
    if (latency.status === 200 && latency.body.points.length > 0) break;
    assert.ok(Date.now() < deadline, "the latency API returned no points in time");
    await page.waitForTimeout(2_000);
  }
  await page.reload();
}

async function readTokens(page) {
  return page.evaluate(() => JSON.parse(window.localStorage.getItem("mometrics.tokens") ?? "null"));
}

async function signUpAndSignOut(page) {
  step("sign up");
  await page.goto(`${BASE_URL}/`);
  await page.waitForURL(/\/login$/);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await screenshot(page, "login-light");

  await page.getByRole("link", { name: "No account yet? Sign up" }).click();
  await page.waitForURL(/\/signup$/);
  await page.getByRole("textbox", { name: /^Email/ }).fill(EMAIL);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole("textbox", { name: /^Organisation name/ }).fill("Browser test org");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "No monitors yet" }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/");

  step("sign out");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login$/);
  assert.equal(await readTokens(page), null, "sign-out left tokens in localStorage");
}

async function logInThroughDeepLink(page) {
  step("open a deep link signed out, then log in");
  await page.goto(`${BASE_URL}/channels`);
  await page.waitForURL(/\/login$/);
  await page.getByRole("textbox", { name: /^Email/ }).fill(EMAIL);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Notification channels" }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/channels", "login did not return to the deep link");
}

async function pickRegions(page) {
  const input = page.getByRole("combobox", { name: /^Regions/ });
  for (const region of REGIONS) {
    await input.click();
    await page.getByRole("option", { name: region, exact: true }).click();
  }
  await page.keyboard.press("Escape");
}

async function createMonitor(page) {
  step("wait for the agents, then create a monitor through the form");
  await page.getByRole("link", { name: "Regions & agents" }).click();
  await page
    .getByRole("row", { name: /Connected/ })
    .nth(REGIONS.length - 1)
    .waitFor({ timeout: STATE_TIMEOUT_MS });
  await page.getByRole("link", { name: "Overview" }).first().click();
  await page.getByRole("link", { name: "Create your first monitor" }).click();
  await page.waitForURL(/\/monitors\/new$/);
  await page.getByRole("textbox", { name: /^Name/ }).fill(MONITOR_NAME);
  await page.getByRole("textbox", { name: /^URL/ }).fill(TARGET_URL);
  await page.getByRole("spinbutton", { name: /^Interval/ }).fill("10");
  await page.getByRole("spinbutton", { name: /^Timeout/ }).fill("2");
  await pickRegions(page);
  await page.getByRole("textbox", { name: /^Expected status codes/ }).fill("200");
  await screenshot(page, "monitor-form-light");

  step("test the unsaved monitor in every region");
  await runTestNow(page);
  await page.getByText(/Tested the settings in the form/).waitFor();
  await screenshot(page, "monitor-form-test-light");

  await page.getByRole("button", { name: "Create monitor" }).click();
  await page.waitForURL(/\/monitors\/[0-9a-f-]{36}$/);
  await page.getByRole("heading", { name: MONITOR_NAME, level: 1 }).waitFor();
  const monitorId = new URL(page.url()).pathname.split("/").pop();
  step(`monitor ${monitorId} created`);
  return monitorId;
}

async function seeRegionsUp(page, monitorId) {
  step("wait for every region to turn up on the overview");
  await page.getByRole("link", { name: "← Overview" }).click();
  await page.getByRole("table", { name: "Monitors" }).waitFor();
  await waitForRegionChips(page, "Up");
  await screenshot(page, "overview-light");

  step("open the monitor page and see the chart");
  await page.getByRole("link", { name: MONITOR_NAME }).click();
  await page.waitForURL(`${BASE_URL}/monitors/${monitorId}`);
  const regionTable = page.getByRole("table", { name: /^Uptime per region/ });
  for (const region of REGIONS) {
    await regionTable.getByRole("row", { name: new RegExp(`^${region} Up`) }).waitFor();
  }
  await waitForLatencyData(page, monitorId);
  const chart = page.getByRole("img", { name: /^Latency chart for / });
  await chart.locator("canvas").first().waitFor();
  const chartLabel = await chart.getAttribute("aria-label");
  for (const region of REGIONS) assert.ok(chartLabel.includes(region), `chart lacks ${region}`);
  await page.getByRole("heading", { name: "Latency (p50 and p95), 24h" }).waitFor();
  await checkLegendAndZoom(page, chart);
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, "monitor-light");
}

async function checkLegendAndZoom(page, chart) {
  step("hide and show a line through the legend, zoom in and out");
  for (const region of REGIONS) {
    for (const percentile of ["p50", "p95"]) {
      const button = page.getByRole("button", { name: new RegExp(`^${region} ${percentile}: `) });
      assert.equal(await button.getAttribute("aria-pressed"), "true", `${region} ${percentile}`);
    }
  }
  const p95 = page.getByRole("button", { name: new RegExp(`^${REGIONS[0]} p95: `) });
  await p95.click();
  assert.equal(await p95.getAttribute("aria-pressed"), "false", "the p95 line did not hide");
  await p95.click();
  assert.equal(await p95.getAttribute("aria-pressed"), "true", "the p95 line did not return");

  const box = await chart.boundingBox();
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.3, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.45, y, { steps: 5 });
  await page.mouse.up();
  const reset = page.getByRole("button", { name: "Reset zoom" });
  await reset.waitFor();
  await reset.click();
  await reset.waitFor({ state: "detached" });
}

async function editMonitor(page, monitorId) {
  step("set options the form does not show through the API");
  const before = await apiRequest(page, "GET", `/monitors/${monitorId}`);
  const hiddenOptions = { headers: { "X-E2E": "kept" }, max_redirects: 3 };
  const patched = await apiRequest(page, "PATCH", `/monitors/${monitorId}`, {
    options: { ...before.body.options, ...hiddenOptions },
  });
  assert.equal(patched.status, 200, `PATCH options answered ${patched.status}`);

  step("edit the monitor and test the saved monitor");
  await page.getByRole("link", { name: "Edit" }).click();
  await page.waitForURL(`${BASE_URL}/monitors/${monitorId}/edit`);
  const name = page.getByRole("textbox", { name: /^Name/ });
  assert.equal(await name.inputValue(), MONITOR_NAME, "edit form did not load the monitor");
  await runTestNow(page);
  await page.getByText(/Tested the saved monitor/).waitFor();
  await name.fill(EDITED_NAME);
  await page.getByRole("textbox", { name: /^Keyword/ }).fill("good");
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.waitForURL(`${BASE_URL}/monitors/${monitorId}`);
  await page.getByRole("heading", { name: EDITED_NAME, level: 1 }).waitFor();

  const after = await apiRequest(page, "GET", `/monitors/${monitorId}`);
  assert.deepEqual(after.body.options.headers, hiddenOptions.headers, "the edit dropped headers");
  assert.equal(after.body.options.max_redirects, 3, "the edit dropped max_redirects");
  assert.equal(after.body.options.keyword, "good", "the edit did not save the keyword");
  assert.deepEqual(after.body.options.expected_status, [200], "the edit changed expected_status");
}

async function visitAgentsAndChannels(page, mode) {
  step(`agents and channels pages (${mode})`);
  await page.getByRole("link", { name: "Regions & agents" }).click();
  await page.getByRole("heading", { name: "Regions & agents" }).waitFor();
  const agentRows = page.getByRole("row", { name: /Connected/ });
  await agentRows.nth(REGIONS.length - 1).waitFor();
  await screenshot(page, `agents-${mode}`);

  await page.getByRole("link", { name: "Channels" }).click();
  await page.getByRole("heading", { name: "Notification channels" }).waitFor();
  await screenshot(page, `channels-${mode}`);
}

async function checkDeepLinkReload(page, monitorId) {
  step("reload a deep link");
  await page.goto(`${BASE_URL}/monitors/${monitorId}/edit`);
  await page.getByRole("heading", { name: "Edit monitor" }).waitFor();
  const resultRequests = [];
  const recordResults = (request) => {
    if (request.url().includes(`/monitors/${monitorId}/results`)) resultRequests.push(request);
  };
  page.on("request", recordResults);
  await page.goto(`${BASE_URL}/monitors/${monitorId}?window=30d`);
  await page.getByRole("heading", { name: "Latency (p50 and p95), 30d" }).waitFor();
  await page.waitForLoadState("networkidle");
  assert.equal(resultRequests.length, 0, "raw results loaded before the user scrolled to them");
  await page.getByRole("heading", { name: "Recent checks" }).scrollIntoViewIfNeeded();
  await page.getByRole("table", { name: "Recent check results" }).waitFor();
  page.off("request", recordResults);
  await page.evaluate(() => window.scrollTo(0, 0));
  const pressed = page.getByRole("button", { name: "30d", pressed: true });
  assert.equal(await pressed.count(), 1, "the 30d window is not selected");
  await page.getByRole("button", { name: "24h" }).click();
  await page.getByRole("heading", { name: "Latency (p50 and p95), 24h" }).waitFor();
  assert.equal(new URL(page.url()).search, "", "the 24h window left a query string");
}

async function checkTokenRefresh(page, monitorId, consoleState) {
  step("replace the access token with an invalid one and reload");
  const before = await readTokens(page);
  await page.evaluate(
    (tokens) => window.localStorage.setItem("mometrics.tokens", JSON.stringify(tokens)),
    { ...before, accessToken: "not-a-valid-token" },
  );
  consoleState.isUnauthorizedExpected = true;
  await page.goto(`${BASE_URL}/monitors/${monitorId}`);
  await page.getByRole("heading", { name: EDITED_NAME, level: 1 }).waitFor();
  await page.waitForLoadState("networkidle");
  consoleState.isUnauthorizedExpected = false;

  const after = await readTokens(page);
  assert.notEqual(after, null, "the refresh signed the user out");
  assert.notEqual(after.accessToken, "not-a-valid-token", "the access token was not renewed");
  assert.notEqual(after.refreshToken, before.refreshToken, "the refresh token did not rotate");
  assert.equal(new URL(page.url()).pathname, `/monitors/${monitorId}`);
}

async function takeDarkScreenshots(page, monitorId) {
  step("switch to dark mode");
  await page.getByRole("button", { name: "Use dark mode" }).click();
  await page.getByRole("button", { name: "Use light mode" }).waitFor();

  await page.goto(`${BASE_URL}/`);
  await waitForRegionChips(page, "Up");
  await screenshot(page, "overview-dark");
  await page.goto(`${BASE_URL}/monitors/${monitorId}`);
  await page
    .getByRole("img", { name: /^Latency chart for / })
    .locator("canvas")
    .first()
    .waitFor();
  await screenshot(page, "monitor-dark");
  await page.goto(`${BASE_URL}/monitors/new`);
  await page.getByRole("textbox", { name: /^Name/ }).fill(MONITOR_NAME);
  await page.getByRole("textbox", { name: /^URL/ }).fill(TARGET_URL);
  await pickRegions(page);
  await screenshot(page, "monitor-form-dark");
  await page.goto(`${BASE_URL}/`);
  await visitAgentsAndChannels(page, "dark");

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await screenshot(page, "login-dark");
  await page.getByRole("textbox", { name: /^Email/ }).fill(EMAIL);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  // Signing out keeps the page's address, so login returns there.
  await page.getByRole("heading", { name: "Notification channels" }).waitFor();
}

async function checkPhoneLayout(page, monitorId) {
  step("phone viewport, 390 px wide");
  await page.setViewportSize(PHONE_VIEWPORT);
  const pages = [
    ["/", () => waitForRegionChips(page, "Up"), "overview-phone"],
    [`/monitors/${monitorId}`, () => page.getByRole("heading", { name: EDITED_NAME }).waitFor()],
    [
      `/monitors/${monitorId}/edit`,
      () => page.getByRole("heading", { name: "Edit monitor" }).waitFor(),
    ],
    ["/regions", () => page.getByRole("heading", { name: "Regions & agents" }).waitFor()],
    ["/channels", () => page.getByRole("heading", { name: "Notification channels" }).waitFor()],
  ];
  for (const [address, ready, screenshotName] of pages) {
    await page.goto(`${BASE_URL}${address}`);
    await ready();
    await page.waitForLoadState("networkidle");
    await assertNoHorizontalOverflow(page, address);
    if (screenshotName) await screenshot(page, `${screenshotName}-dark`);
  }

  step("region chips fit a phone screen");
  await page.goto(`${BASE_URL}/`);
  await waitForRegionChips(page, "Up");
  for (const region of REGIONS) {
    const box = await regionChip(page, region, "Up").boundingBox();
    assert.ok(
      box.x >= 0 && box.x + box.width <= PHONE_VIEWPORT.width,
      `the ${region} chip lies outside the phone screen at x=${box.x}, width ${box.width}`,
    );
  }

  await page.getByRole("button", { name: "Open navigation" }).click();
  await page.getByRole("link", { name: "Overview" }).last().click();
  await waitForRegionChips(page, "Up");
  await page.setViewportSize(DESKTOP_VIEWPORT);
}

async function seeOutage(page, monitorId) {
  step("stop the target and wait for every region to turn down");
  const stopped = await fetch(TARGET_STOP_URL, { method: "POST" });
  assert.equal(stopped.status, 200, "the test's target did not stop");
  await page.getByRole("button", { name: "Use light mode" }).click();
  await page.goto(`${BASE_URL}/`);
  await waitForRegionChips(page, "Down");
  await screenshot(page, "overview-outage-light");

  await page.getByRole("link", { name: EDITED_NAME }).click();
  const regionTable = page.getByRole("table", { name: /^Uptime per region/ });
  for (const region of REGIONS) {
    await regionTable
      .getByRole("row", { name: new RegExp(`^${region} Down`) })
      .waitFor({ timeout: STATE_TIMEOUT_MS });
  }

  // Incidents come from the alerting worker, which this stack may not run: check the page only
  // when the API reports one.
  const incidents = await page.evaluate(async (id) => {
    const tokens = JSON.parse(window.localStorage.getItem("mometrics.tokens"));
    const response = await fetch(`/api/v1/incidents?monitor_id=${id}`, {
      headers: { Authorization: `Bearer ${tokens.accessToken}` },
    });
    return response.ok ? (await response.json()).items : null;
  }, monitorId);
  if (incidents && incidents.length > 0) {
    step(`the API reports ${incidents.length} incident(s); looking for it on the page`);
    await page.getByRole("table", { name: "Incidents" }).waitFor({ timeout: 35_000 });
  } else {
    step("the API reports no incident yet; region states checked only");
  }
  await page
    .getByRole("img", { name: /^Latency chart for / })
    .locator("canvas")
    .first()
    .waitFor();
  await screenshot(page, "monitor-outage-light");
}

/** Prints what the page showed when a check failed, and saves it as failure.png. */
async function reportFailure(context, consoleState) {
  const page = context.pages()[0];
  if (!page) return;
  console.error(`[e2e] failed at ${page.url()}`);
  console.error(`[e2e] console errors: ${JSON.stringify(consoleState.errors, null, 1)}`);
  try {
    const text = await page.locator("body").innerText({ timeout: 2_000 });
    console.error(`[e2e] page text:\n${text.slice(0, 2_000)}`);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "failure.png") });
  } catch (error) {
    console.error(`[e2e] could not capture the page: ${error.message}`);
  }
}

async function main() {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const { context, close } = await launchBrowser({ viewport: DESKTOP_VIEWPORT });
  const consoleState = { errors: [], isUnauthorizedExpected: false };
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    watchConsole(page, consoleState);

    await signUpAndSignOut(page);
    await logInThroughDeepLink(page);
    await screenshot(page, "channels-light");
    const monitorId = await createMonitor(page);
    await seeRegionsUp(page, monitorId);
    await editMonitor(page, monitorId);
    await visitAgentsAndChannels(page, "light");
    await checkDeepLinkReload(page, monitorId);
    await checkTokenRefresh(page, monitorId, consoleState);
    await takeDarkScreenshots(page, monitorId);
    await checkPhoneLayout(page, monitorId);
    await seeOutage(page, monitorId);

    assert.deepEqual(consoleState.errors, [], "the dashboard logged errors");
    step("all checks passed");
  } catch (error) {
    await reportFailure(context, consoleState);
    throw error;
  } finally {
    await close();
  }
}

main().catch((error) => {
  console.error(`[e2e] FAILED: ${error.stack ?? error}`);
  process.exit(1);
});
