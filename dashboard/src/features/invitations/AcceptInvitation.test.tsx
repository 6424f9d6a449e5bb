import { configure, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readOrganizationId } from "../../api/organization";
import {
  createFakeFetch,
  jsonResponse,
  type Handler,
  type RecordedRequest,
} from "../../test/fakeFetch";
import { makeMe, TOKENS } from "../../test/memberFixtures";
import { renderWithProviders } from "../../test/render";
import { AcceptInvitation } from "./AcceptInvitation";

const ROUTE = "/invitations/accept#token=invite-token";
const JOINED = { id: "o9", name: "Acme", role: "admin", created_at: "2024-05-01T10:00:00Z" };
const TOKEN_PAIR = {
  access_token: "new-access",
  refresh_token: "new-refresh",
  token_type: "bearer",
  expires_in: 900,
};

function renderPage(routes: Record<string, Handler>, signedIn: boolean, route = ROUTE) {
  const fake = createFakeFetch({
    "GET /api/v1/auth/me": () => jsonResponse(200, makeMe("owner")),
    "POST /api/v1/auth/logout": () => new Response(null, { status: 204 }),
    ...routes,
  });
  const rendered = renderWithProviders(<AcceptInvitation />, {
    fetch: fake.fetch,
    tokens: signedIn ? TOKENS : null,
    route,
  });
  return { ...fake, ...rendered };
}

function problem(status: number, detail: string): Handler {
  return () => jsonResponse(status, { title: "x", status, detail });
}

function acceptCalls(requests: RecordedRequest[]) {
  return requests.filter((request) => request.path === "/api/v1/invitations/accept");
}

describe("AcceptInvitation", () => {
  // The app renders in StrictMode, which runs effects twice in development. The page must still
  // accept once.
  beforeEach(() => configure({ reactStrictMode: true }));
  afterEach(() => configure({ reactStrictMode: false }));

  it("accepts when signed in and switches to the organisation", async () => {
    const fake = renderPage(
      { "POST /api/v1/invitations/accept": () => jsonResponse(200, JOINED) },
      true,
    );

    expect(await screen.findByText(/^You joined/)).toHaveTextContent("You joined Acme as Admin.");
    expect(screen.getByRole("link", { name: "Open Acme" })).toHaveAttribute("href", "/");
    expect(readOrganizationId()).toBe("o9");
    const calls = acceptCalls(fake.requests);
    expect(calls).toHaveLength(1);
    expect(calls[0].body).toEqual({ token: "invite-token" });
  });

  it("shows why an expired invitation fails", async () => {
    renderPage(
      {
        "POST /api/v1/invitations/accept": problem(
          410,
          "this invitation expired at 2024-05-08T10:00:00+00:00; ask the organisation for a new one",
        ),
      },
      true,
    );

    expect(await screen.findByText("Invitation no longer valid")).toBeInTheDocument();
    expect(
      screen.getByText(/This invitation expired at 2024-05-08T10:00:00\+00:00/),
    ).toBeInTheDocument();
    expect(readOrganizationId()).toBeNull();
  });

  it("offers another account when the invitation is for another address", async () => {
    const { tokens } = renderPage(
      {
        "POST /api/v1/invitations/accept": problem(
          403,
          "this invitation is for cy@example.org, but you are me@example.org; log in with the " +
            "invited address, or ask for an invitation to yours",
        ),
      },
      true,
    );

    expect(await screen.findByText("Invitation is for another email address")).toBeInTheDocument();
    expect(await screen.findByText("You are signed in as me@example.org.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Sign out and use another account" }));

    expect(await screen.findByRole("button", { name: "Create account" })).toBeInTheDocument();
    expect(tokens.get()).toBeNull();
  });

  it("signs up with the invitation token, then accepts", async () => {
    const fake = renderPage(
      {
        "POST /api/v1/auth/register": () =>
          jsonResponse(201, { id: "u5", email: "cy@example.org" }),
        "POST /api/v1/auth/login": () => jsonResponse(200, TOKEN_PAIR),
        "POST /api/v1/invitations/accept": () => jsonResponse(200, JOINED),
      },
      false,
    );

    expect(screen.queryByRole("textbox", { name: /^Organisation name/ })).toBeNull();
    await userEvent.type(screen.getByRole("textbox", { name: /^Email/ }), "cy@example.org");
    await userEvent.type(screen.getByLabelText(/^Password/), "long enough password");
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));

    expect(await screen.findByText(/^You joined/)).toHaveTextContent("You joined Acme as Admin.");
    const register = fake.requests.find((r) => r.path === "/api/v1/auth/register");
    expect(register?.body).toEqual({
      email: "cy@example.org",
      password: "long enough password",
      invitation_token: "invite-token",
    });
    expect(fake.tokens.get()?.accessToken).toBe("new-access");
    expect(acceptCalls(fake.requests)).toHaveLength(1);
    expect(readOrganizationId()).toBe("o9");
  });

  it("signs in with an existing account, then accepts", async () => {
    const fake = renderPage(
      {
        "POST /api/v1/auth/login": () => jsonResponse(200, TOKEN_PAIR),
        "POST /api/v1/invitations/accept": () => jsonResponse(200, JOINED),
      },
      false,
    );

    await userEvent.click(screen.getByRole("button", { name: "Already have an account? Sign in" }));
    await userEvent.type(screen.getByRole("textbox", { name: /^Email/ }), "cy@example.org");
    await userEvent.type(screen.getByLabelText(/^Password/), "long enough password");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByText(/^You joined/)).toHaveTextContent("You joined Acme as Admin.");
    await waitFor(() => expect(acceptCalls(fake.requests)).toHaveLength(1));
    expect(fake.requests.some((r) => r.path === "/api/v1/auth/register")).toBe(false);
  });

  it("stops at an unknown token during sign-up", async () => {
    renderPage(
      {
        "POST /api/v1/auth/register": problem(
          404,
          "invitation not found: the token is invalid; check the link",
        ),
      },
      false,
    );

    await userEvent.type(screen.getByRole("textbox", { name: /^Email/ }), "cy@example.org");
    await userEvent.type(screen.getByLabelText(/^Password/), "long enough password");
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));

    expect(await screen.findByText("Invitation not found")).toBeInTheDocument();
    expect(
      screen.getByText("Invitation not found: the token is invalid; check the link."),
    ).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Create account" })).toBeNull();
  });

  it("shows a sign-up for another address in the form", async () => {
    renderPage(
      {
        "POST /api/v1/auth/register": problem(
          403,
          "this invitation is for cy@example.org, but you are dee@example.org; log in with the " +
            "invited address, or ask for an invitation to yours",
        ),
      },
      false,
    );

    await userEvent.type(screen.getByRole("textbox", { name: /^Email/ }), "dee@example.org");
    await userEvent.type(screen.getByLabelText(/^Password/), "long enough password");
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));

    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Invitation is for another email address. This invitation is for cy@example.org",
    );
    expect(screen.getByRole("button", { name: "Create account" })).toBeInTheDocument();
  });

  it("explains a link without a token", () => {
    renderPage({}, true, "/invitations/accept");

    expect(screen.getByText("Invitation link incomplete")).toBeInTheDocument();
  });
});
