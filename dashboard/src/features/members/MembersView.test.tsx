import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { CurrentUser } from "../../api/types";
import { writeOrganizationId } from "../../api/organization";
import { createFakeFetch, jsonResponse, type Handler } from "../../test/fakeFetch";
import { makeInvitation, makeMe, makeMember, TOKENS } from "../../test/memberFixtures";
import { renderWithProviders } from "../../test/render";
import { MembersView } from "./MembersView";

const MEMBERS = "/api/v1/organizations/o1/members";
const INVITATIONS = "/api/v1/organizations/o1/invitations";

const owner = makeMember({ user_id: "u1", email: "me@example.org", role: "owner" });
const bo = makeMember();

function renderView(me: CurrentUser, routes: Record<string, Handler> = {}) {
  const fake = createFakeFetch({
    "GET /api/v1/auth/me": () => jsonResponse(200, me),
    [`GET ${MEMBERS}`]: () => jsonResponse(200, { items: [owner, bo], next_cursor: null }),
    [`GET ${INVITATIONS}`]: () =>
      jsonResponse(200, { items: [makeInvitation()], next_cursor: null }),
    ...routes,
  });
  renderWithProviders(<MembersView />, { fetch: fake.fetch, tokens: TOKENS });
  return fake;
}

function forbidden(detail: string) {
  return () => jsonResponse(403, { title: "Forbidden", status: 403, detail });
}

describe("MembersView", () => {
  it("lists members and pending invitations for an owner", async () => {
    renderView(makeMe("owner"));

    const members = await screen.findByRole("table", { name: "Members" });
    expect(within(members).getByText("bo@example.org")).toBeInTheDocument();
    expect(within(members).getByText("you")).toBeInTheDocument();
    expect(screen.getByText("Acme. Your role: Owner.")).toBeInTheDocument();
    const invitations = await screen.findByRole("table", { name: "Pending invitations" });
    expect(within(invitations).getByText("cy@example.org")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Invite" })).toBeInTheDocument();
  });

  it("changes a role through the select", async () => {
    const fake = renderView(makeMe("owner"), {
      [`PATCH ${MEMBERS}/u2`]: (request) =>
        jsonResponse(200, { ...bo, role: (request.body as { role: string }).role }),
    });

    const select = await screen.findByRole("combobox", { name: "Role of bo@example.org" });
    await userEvent.selectOptions(select, "admin");

    expect(await screen.findByText("bo@example.org is now Admin.")).toBeInTheDocument();
    const patch = fake.requests.find((request) => request.method === "PATCH");
    expect(patch?.path).toBe(`${MEMBERS}/u2`);
    expect(patch?.body).toEqual({ role: "admin" });
  });

  it("shows the API's 403 reason when a change is not allowed", async () => {
    renderView(makeMe("admin"), {
      [`PATCH ${MEMBERS}/u2`]: forbidden("this action needs the owner role; yours is admin"),
    });

    const select = await screen.findByRole("combobox", { name: "Role of bo@example.org" });
    await userEvent.selectOptions(select, "viewer");

    expect(await screen.findByRole("alert")).toHaveTextContent(
      "You are not allowed to change the role of bo@example.org. " +
        "This action needs the owner role; yours is admin.",
    );
  });

  it("offers admins no owner role and no control over owners", async () => {
    const self = makeMember({ user_id: "u1", email: "me@example.org", role: "admin" });
    const other = makeMember({ user_id: "u3", email: "own@example.org", role: "owner" });
    renderView(makeMe("admin"), {
      [`GET ${MEMBERS}`]: () => jsonResponse(200, { items: [other, self, bo], next_cursor: null }),
    });

    const select = await screen.findByRole("combobox", { name: "Role of bo@example.org" });
    const options = within(select)
      .getAllByRole("option")
      .map((option) => option.textContent);
    expect(options).toEqual(["Viewer", "Member", "Admin"]);
    expect(screen.queryByRole("combobox", { name: "Role of own@example.org" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Remove own@example.org" })).toBeNull();
    expect(screen.getByRole("button", { name: "Remove bo@example.org" })).toBeInTheDocument();
  });

  it("removes a member after confirmation", async () => {
    const fake = renderView(makeMe("owner"), {
      [`DELETE ${MEMBERS}/u2`]: () => new Response(null, { status: 204 }),
    });

    await userEvent.click(await screen.findByRole("button", { name: "Remove bo@example.org" }));
    const dialog = screen.getByRole("dialog", { name: "Remove bo@example.org?" });
    expect(fake.requests.some((request) => request.method === "DELETE")).toBe(false);
    await userEvent.click(within(dialog).getByRole("button", { name: "Remove" }));

    expect(await screen.findByText("bo@example.org was removed.")).toBeInTheDocument();
    const removal = fake.requests.find((request) => request.method === "DELETE");
    expect(removal?.path).toBe(`${MEMBERS}/u2`);
  });

  it("revokes an invitation after confirmation", async () => {
    const fake = renderView(makeMe("owner"), {
      [`DELETE ${INVITATIONS}/i1`]: () => new Response(null, { status: 204 }),
    });

    await userEvent.click(
      await screen.findByRole("button", { name: "Revoke the invitation for cy@example.org" }),
    );
    const dialog = screen.getByRole("dialog", {
      name: "Revoke the invitation for cy@example.org?",
    });
    await userEvent.click(within(dialog).getByRole("button", { name: "Revoke" }));

    expect(
      await screen.findByText("The invitation for cy@example.org was revoked."),
    ).toBeInTheDocument();
    expect(fake.requests.some((request) => request.path === `${INVITATIONS}/i1`)).toBe(true);
  });

  it("shows viewers the list without controls or invitations", async () => {
    const fake = renderView(makeMe("viewer"));

    await screen.findByRole("table", { name: "Members" });
    expect(screen.queryByRole("button", { name: "Invite" })).toBeNull();
    expect(screen.queryByRole("combobox")).toBeNull();
    expect(screen.queryByRole("button", { name: /^Remove/ })).toBeNull();
    expect(screen.getByRole("button", { name: "Leave" })).toBeInTheDocument();
    expect(screen.getByText(/Owners and admins manage members and invitations/)).toBeVisible();
    expect(fake.requests.some((request) => request.path.startsWith(INVITATIONS))).toBe(false);
  });

  it("shows an empty invitations list", async () => {
    renderView(makeMe("owner"), {
      [`GET ${INVITATIONS}`]: () => jsonResponse(200, { items: [], next_cursor: null }),
    });

    expect(
      await screen.findByRole("heading", { name: "No pending invitations" }),
    ).toBeInTheDocument();
  });

  it("shows a failed member list with a retry", async () => {
    renderView(makeMe("owner"), {
      [`GET ${MEMBERS}`]: () =>
        jsonResponse(500, { title: "Internal error", status: 500, detail: "database down" }),
    });

    const alert = await screen.findByText("database down");
    expect(alert).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });

  it("follows the organisation switcher", async () => {
    const me = makeMe("owner", [{ id: "o2", name: "Beta", role: "viewer" }]);
    const fake = renderView(me, {
      "GET /api/v1/organizations/o2/members": () =>
        jsonResponse(200, { items: [makeMember({ email: "zed@example.org" })], next_cursor: null }),
    });
    await screen.findByText("bo@example.org");

    act(() => writeOrganizationId("o2"));

    expect(await screen.findByText("zed@example.org")).toBeInTheDocument();
    expect(screen.getByText(/^Beta\. Your role: Viewer\./)).toBeInTheDocument();
    await waitFor(() =>
      expect(fake.requests.some((r) => r.path === "/api/v1/organizations/o2/members")).toBe(true),
    );
  });
});
