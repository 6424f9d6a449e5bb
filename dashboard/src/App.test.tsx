import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { createFakeFetch, jsonResponse, type RecordedRequest } from "./test/fakeFetch";
import { renderWithProviders } from "./test/render";

const me = {
  id: "u1",
  email: "ada@example.com",
  organizations: [{ id: "o1", name: "Acme", role: "owner" }],
};

function channelsFor(validToken: string) {
  return (request: RecordedRequest) =>
    request.headers.Authorization === `Bearer ${validToken}`
      ? jsonResponse(200, {
          items: [
            {
              id: "c1",
              kind: "webhook",
              name: "Ops hook",
              config: { url: "https://hooks.example.com" },
            },
          ],
          next_cursor: null,
        })
      : jsonResponse(401, { title: "Token expired", status: 401 });
}

describe("App", () => {
  it("sends signed-out users to the login page", async () => {
    const { fetch } = createFakeFetch({});
    renderWithProviders(<App />, { fetch, route: "/channels" });
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
  });

  it("returns to the same page after the session expires", async () => {
    const { fetch } = createFakeFetch({
      "GET /api/v1/auth/me": () => jsonResponse(200, me),
      "GET /api/v1/channels": channelsFor("access-new"),
      "POST /api/v1/auth/refresh": () => jsonResponse(401, { title: "Refresh token expired" }),
      "POST /api/v1/auth/login": () =>
        jsonResponse(200, {
          access_token: "access-new",
          refresh_token: "refresh-new",
          token_type: "bearer",
          expires_in: 900,
        }),
    });
    renderWithProviders(<App />, {
      fetch,
      route: "/channels",
      tokens: { accessToken: "access-old", refreshToken: "refresh-old" },
    });

    expect(await screen.findByText(/your session has expired/i)).toBeInTheDocument();

    await userEvent.type(screen.getByLabelText(/email/i), "ada@example.com");
    await userEvent.type(screen.getByLabelText(/password/i), "correct horse");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByText("Ops hook")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Notification channels" })).toBeInTheDocument();
  });

  it("refreshes the token without leaving the page", async () => {
    const { fetch, requests } = createFakeFetch({
      "GET /api/v1/auth/me": () => jsonResponse(200, me),
      "GET /api/v1/channels": channelsFor("access-new"),
      "POST /api/v1/auth/refresh": () =>
        jsonResponse(200, {
          access_token: "access-new",
          refresh_token: "refresh-new",
          token_type: "bearer",
          expires_in: 900,
        }),
    });
    const { tokens } = renderWithProviders(<App />, {
      fetch,
      route: "/channels",
      tokens: { accessToken: "access-old", refreshToken: "refresh-old" },
    });

    expect(await screen.findByText("Ops hook")).toBeInTheDocument();
    expect(tokens.get()?.refreshToken).toBe("refresh-new");
    expect(requests.filter((request) => request.path === "/api/v1/auth/refresh")).toHaveLength(1);
    expect(requests.map((request) => request.path)).toContain("/api/v1/channels?limit=200");
  });
});
