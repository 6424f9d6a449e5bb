import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { createFakeFetch, jsonResponse } from "../../test/fakeFetch";
import { makeMe, makeMember, TOKENS } from "../../test/memberFixtures";
import { renderWithProviders } from "../../test/render";

describe("members and invitation routes", () => {
  it("opens the members page from the navigation", async () => {
    const { fetch } = createFakeFetch({
      "GET /api/v1/auth/me": () => jsonResponse(200, makeMe("viewer")),
      "GET /api/v1/overview": () => jsonResponse(200, { items: [] }),
      "GET /api/v1/organizations/o1/members": () =>
        jsonResponse(200, { items: [makeMember()], next_cursor: null }),
    });
    renderWithProviders(<App />, { fetch, route: "/", tokens: TOKENS });

    const nav = await screen.findByRole("navigation", { name: "Main" });
    await userEvent.click(within(nav).getByRole("link", { name: "Members" }));

    expect(await screen.findByRole("heading", { name: "Members", level: 1 })).toBeInTheDocument();
    expect(await screen.findByText("bo@example.org")).toBeInTheDocument();
  });

  it("keeps the accept page open when signed out", async () => {
    const { fetch } = createFakeFetch({});
    renderWithProviders(<App />, { fetch, route: "/invitations/accept#token=abc" });

    expect(
      await screen.findByRole("heading", { name: "Join an organisation" }),
    ).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Create account" })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Sign in" })).toBeNull();
  });
});
