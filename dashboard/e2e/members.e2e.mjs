// Members and invitations in headless Chromium against a running api.
//
// tests/dashboard/test_members_browser.py starts the api (serving a fresh dashboard build, with
// no mail server, so invitations come back as links), registers the owner and runs this script
// with these variables:
//   MOMETRICS_E2E_BASE_URL            the api's origin, e.g. http://127.0.0.1:8123
//   MOMETRICS_E2E_OWNER_EMAIL         the owner's address
//   MOMETRICS_E2E_OWNER_PASSWORD      the owner's password
//   MOMETRICS_E2E_ORGANIZATION        the name of the owner's organisation
//   MOMETRICS_E2E_SCREENSHOT_DIR      folder for the PNG screenshots
// The owner invites an address as admin, the invitee signs up through the accept link and lands
// in the organisation as admin. The script exits with status 1 on the first failed check.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { launchBrowser } from "./browser.mjs";

const BASE_URL = requireEnv("MOMETRICS_E2E_BASE_URL");
const OWNER_EMAIL = requireEnv("MOMETRICS_E2E_OWNER_EMAIL");
const OWNER_PASSWORD = requireEnv("MOMETRICS_E2E_OWNER_PASSWORD");
const ORGANIZATION = requireEnv("MOMETRICS_E2E_ORGANIZATION");
const SCREENSHOT_DIR = requireEnv("MOMETRICS_E2E_SCREENSHOT_DIR");

const INVITEE_EMAIL = "invitee@example.org";
const INVITEE_PASSWORD = "invitee-e2e-password";
const REVOKED_EMAIL = "revoked@example.org";
const PHONE_VIEWPORT = { width: 390, height: 844 };
const DESKTOP_VIEWPORT = { width: 1280, height: 800 };
const ACCEPT_LINK = new RegExp(`^${BASE_URL}/invitations/accept#token=[A-Za-z0-9_-]+$`);

function requireEnv(name) {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set; run this script through pytest tests/dashboard.`);
  return value;
}

function step(message) {
  console.log(`[e2e] ${message}`);
}

/**
 * Records console errors and uncaught exceptions. Chromium logs every 4xx response as an error,
 * so a step that expects one names its status in `state.expectedStatus`.
 */
function watchConsole(page, state) {
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const text = message.text();
    if (state.expectedStatus && text.includes(`status of ${state.expectedStatus}`)) return;
    state.errors.push(`console error on ${page.url()}: ${text}`);
  });
  page.on("pageerror", (error) => state.errors.push(`uncaught on ${page.url()}: ${error.message}`));
}

async function screenshot(page, name) {
  await page.waitForLoadState("networkidle");
  await page.evaluate(() => document.fonts.ready);
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false, animations: "disabled" });
  step(`saved ${file}`);
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
async function apiRequest(page, method, apiPath) {
  return page.evaluate(
    async ({ method, apiPath }) => {
      const tokens = JSON.parse(window.localStorage.getItem("mometrics.tokens"));
      const response = await fetch(`/api/v1${apiPath}`, {
        method,
        headers: { Authorization: `Bearer ${tokens.accessToken}` },
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    { method, apiPath },
  );
}

async function signIn(page, email, password) {
  await page.getByRole("textbox", { name: /^Email/ }).fill(email);
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function signOut(page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login$/);
}

function membersTable(page) {
  return page.getByRole("table", { name: "Members" });
}

function invitationsTable(page) {
  return page.getByRole("table", { name: "Pending invitations" });
}

/** Invites `email` with `roleLabel` through the dialog and returns the accept link it shows. */
async function invite(page, email, roleLabel) {
  await page.getByRole("button", { name: "Invite", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: `Invite to ${ORGANIZATION}` });
  await dialog.waitFor();
  const emailField = dialog.getByRole("textbox", { name: /^Email/ });
  assert.ok(
    await emailField.evaluate((input) => input === document.activeElement),
    "the invite dialog did not focus the email field",
  );
  await emailField.fill(email);
  await dialog.getByRole("combobox", { name: "Role" }).selectOption({ label: roleLabel });
  await dialog.getByRole("button", { name: "Invite", exact: true }).click();

  const result = page.getByRole("dialog", { name: `Invitation for ${email}` });
  const link = result.getByRole("textbox", { name: "Accept link" });
  await link.waitFor();
  await result.getByText(`${email} joins ${ORGANIZATION} as ${roleLabel}`).waitFor();
  const url = await link.inputValue();
  assert.match(url, ACCEPT_LINK, "the accept link has an unexpected form");
  return { url, result };
}

async function inviteAsOwner(page, context, consoleState) {
  step("sign in as the owner and open the members page");
  await page.goto(`${BASE_URL}/`);
  await page.waitForURL(/\/login$/);
  await signIn(page, OWNER_EMAIL, OWNER_PASSWORD);
  await page.getByRole("link", { name: "Members" }).click();
  await page.getByRole("heading", { name: "Members", level: 1 }).waitFor();
  await page.getByText(`${ORGANIZATION}. Your role: Owner.`).waitFor();
  await membersTable(page)
    .getByRole("row", { name: new RegExp(OWNER_EMAIL) })
    .waitFor();
  await page.getByRole("heading", { name: "No pending invitations" }).waitFor();

  step("invite an address as admin and copy the accept link");
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE_URL });
  const { url: acceptUrl, result } = await invite(page, INVITEE_EMAIL, "Admin");
  await result.getByRole("button", { name: "Copy link" }).click();
  await result.getByRole("button", { name: "Copied" }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, acceptUrl, "the clipboard does not hold the accept link");
  await screenshot(page, "members-invite-light");
  await result.getByRole("button", { name: "Done" }).click();

  const row = invitationsTable(page).getByRole("row", { name: new RegExp(INVITEE_EMAIL) });
  await row.waitFor();
  assert.match(await row.innerText(), /Admin/, "the pending invitation lacks its role");

  step("invite a second address, then revoke it");
  const { url: revokedUrl, result: second } = await invite(page, REVOKED_EMAIL, "Viewer");
  await second.getByRole("button", { name: "Done" }).click();
  await page.getByRole("button", { name: `Revoke the invitation for ${REVOKED_EMAIL}` }).click();
  const confirm = page.getByRole("dialog", { name: `Revoke the invitation for ${REVOKED_EMAIL}?` });
  await confirm.getByRole("button", { name: "Revoke" }).click();
  await page.getByText(`The invitation for ${REVOKED_EMAIL} was revoked.`).waitFor();
  await invitationsTable(page)
    .getByRole("row", { name: new RegExp(REVOKED_EMAIL) })
    .waitFor({ state: "detached" });
  await screenshot(page, "members-light");

  step("the owner opens the revoked link and the invitee's link");
  consoleState.expectedStatus = 410;
  await page.goto(revokedUrl);
  await page.getByText("Invitation no longer valid").waitFor();
  await page.getByText(/revoked or replaced/).waitFor();
  consoleState.expectedStatus = 403;
  await page.goto(acceptUrl);
  await page.getByText("Invitation is for another email address").waitFor();
  await page.getByText(new RegExp(`this invitation is for ${INVITEE_EMAIL}`, "i")).waitFor();
  await page.waitForLoadState("networkidle");
  consoleState.expectedStatus = null;

  step("sign out");
  await page.goto(`${BASE_URL}/members`);
  await page.getByRole("heading", { name: "Members", level: 1 }).waitFor();
  await signOut(page);
  return acceptUrl;
}

async function signUpThroughLink(page, acceptUrl) {
  step("open the accept link signed out and sign up with the invited address");
  await page.goto(acceptUrl);
  await page.getByRole("heading", { name: "Join an organisation" }).waitFor();
  const organizationField = page.getByRole("textbox", { name: /^Organisation name/ });
  assert.equal(
    await organizationField.count(),
    0,
    "the invitation sign-up asks for an organisation",
  );
  await screenshot(page, "invitation-accept-light");
  await page.getByRole("textbox", { name: /^Email/ }).fill(INVITEE_EMAIL);
  await page.getByLabel(/^Password/).fill(INVITEE_PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();

  await page.getByText(/^You joined/).waitFor();
  const joined = await page.getByText(/^You joined/).innerText();
  assert.match(joined, new RegExp(`You joined ${ORGANIZATION} as Admin\\.`));
  await page.getByRole("link", { name: `Open ${ORGANIZATION}` }).click();
  await page.waitForURL(`${BASE_URL}/`);

  step("the invitee is an admin of the organisation");
  const me = await apiRequest(page, "GET", "/auth/me");
  assert.equal(me.status, 200);
  assert.deepEqual(
    me.body.organizations.map((organization) => [organization.name, organization.role]),
    [[ORGANIZATION, "admin"]],
    "the invitee's organisations are wrong",
  );
  const stored = await page.evaluate(() => window.localStorage.getItem("mometrics.organization"));
  assert.equal(stored, me.body.organizations[0].id, "the joined organisation is not selected");

  await page.getByRole("link", { name: "Members" }).click();
  await page.getByText(`${ORGANIZATION}. Your role: Admin.`).waitFor();
  const selfRow = membersTable(page).getByRole("row", { name: new RegExp(INVITEE_EMAIL) });
  await selfRow.getByText("you", { exact: true }).waitFor();
  const ownRole = selfRow.getByRole("combobox", { name: `Role of ${INVITEE_EMAIL}` });
  assert.equal(await ownRole.inputValue(), "admin", "the invitee's role is not admin");
  // An admin may not change an owner, so the owner's role shows as text.
  const ownerRow = membersTable(page).getByRole("row", { name: new RegExp(OWNER_EMAIL) });
  assert.equal(await ownerRow.getByRole("combobox").count(), 0, "an admin got the owner's select");
  await page.getByRole("heading", { name: "No pending invitations" }).waitFor();
}

async function checkUnknownToken(page, consoleState) {
  step("an unknown token reads as not found");
  consoleState.expectedStatus = 404;
  await page.goto(`${BASE_URL}/invitations/accept#token=not-a-real-token`);
  await page.getByText("Invitation not found").waitFor();
  await page.getByText(/The token is invalid; check the link/i).waitFor();
  await page.waitForLoadState("networkidle");
  consoleState.expectedStatus = null;
}

async function checkPhoneAndKeyboard(page) {
  step("phone width and keyboard on the members page");
  await page.setViewportSize(PHONE_VIEWPORT);
  await page.goto(`${BASE_URL}/members`);
  await membersTable(page)
    .getByRole("row", { name: new RegExp(INVITEE_EMAIL) })
    .waitFor();
  await page.getByRole("heading", { name: "No pending invitations" }).waitFor();
  await assertNoHorizontalOverflow(page, "/members");
  await screenshot(page, "members-phone-light");

  // Keyboard only: focus the Invite button, open the dialog with Enter, close it with Escape.
  await page.getByRole("button", { name: "Invite", exact: true }).focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: `Invite to ${ORGANIZATION}` });
  await dialog.waitFor();
  await assertNoHorizontalOverflow(page, "the invite dialog");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  await page.setViewportSize(DESKTOP_VIEWPORT);
}

async function changeRoleAsOwner(page) {
  step("the owner makes the invitee a viewer, then removes them");
  await signOut(page);
  await signIn(page, OWNER_EMAIL, OWNER_PASSWORD);
  await page.getByRole("link", { name: "Members" }).click();
  const select = page.getByRole("combobox", { name: `Role of ${INVITEE_EMAIL}` });
  await select.selectOption({ label: "Viewer" });
  await page.getByText(`${INVITEE_EMAIL} is now Viewer.`).waitFor();
  const members = await apiRequest(
    page,
    "GET",
    `/organizations/${await currentOrganizationId(page)}/members`,
  );
  const invitee = members.body.items.find((member) => member.email === INVITEE_EMAIL);
  assert.equal(invitee.role, "viewer", "the role change did not reach the API");

  await page.getByRole("button", { name: `Remove ${INVITEE_EMAIL}` }).click();
  const confirm = page.getByRole("dialog", { name: `Remove ${INVITEE_EMAIL}?` });
  await confirm.getByRole("button", { name: "Remove" }).click();
  await page.getByText(`${INVITEE_EMAIL} was removed.`).waitFor();
  await membersTable(page)
    .getByRole("row", { name: new RegExp(INVITEE_EMAIL) })
    .waitFor({ state: "detached" });
}

async function currentOrganizationId(page) {
  const me = await apiRequest(page, "GET", "/auth/me");
  return me.body.organizations[0].id;
}

/** Prints what the page showed when a check failed, and saves it as members-failure.png. */
async function reportFailure(context, consoleState) {
  const page = context.pages()[0];
  if (!page) return;
  console.error(`[e2e] failed at ${page.url()}`);
  console.error(`[e2e] console errors: ${JSON.stringify(consoleState.errors, null, 1)}`);
  try {
    const text = await page.locator("body").innerText({ timeout: 2_000 });
    console.error(`[e2e] page text:\n${text.slice(0, 2_000)}`);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "members-failure.png") });
  } catch (error) {
    console.error(`[e2e] could not capture the page: ${error.message}`);
  }
}

async function main() {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const { context, close } = await launchBrowser({ viewport: DESKTOP_VIEWPORT });
  const consoleState = { errors: [], expectedStatus: null };
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    watchConsole(page, consoleState);

    const acceptUrl = await inviteAsOwner(page, context, consoleState);
    await signUpThroughLink(page, acceptUrl);
    await checkUnknownToken(page, consoleState);
    await checkPhoneAndKeyboard(page);
    await changeRoleAsOwner(page);

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
