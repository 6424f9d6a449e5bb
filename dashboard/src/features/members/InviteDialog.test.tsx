import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Role } from "../../api/membershipTypes";
import { createFakeFetch, jsonResponse, type Handler } from "../../test/fakeFetch";
import { makeInvitation, TOKENS } from "../../test/memberFixtures";
import { renderWithProviders } from "../../test/render";
import { InviteDialog } from "./InviteDialog";

const INVITATIONS = "POST /api/v1/organizations/o1/invitations";
const ACCEPT_URL = "http://127.0.0.1:8000/invitations/accept#token=secret-token";

function renderDialog(create: Handler, actorRole: Role = "owner") {
  const fake = createFakeFetch({ [INVITATIONS]: create });
  renderWithProviders(
    <InviteDialog
      open
      organizationId="o1"
      organizationName="Acme"
      actorRole={actorRole}
      onClose={() => undefined}
    />,
    { fetch: fake.fetch, tokens: TOKENS },
  );
  return fake;
}

async function invite(email: string, role: string) {
  await userEvent.type(screen.getByRole("textbox", { name: /^Email/ }), email);
  await userEvent.selectOptions(screen.getByRole("combobox", { name: "Role" }), role);
  await userEvent.click(screen.getByRole("button", { name: "Invite" }));
}

describe("InviteDialog", () => {
  it("shows the accept link for link delivery, with a copy button", async () => {
    const fake = renderDialog((request) =>
      jsonResponse(201, {
        ...makeInvitation({ email: "cy@example.org", role: "admin", delivery: "link" }),
        ...(request.body as object),
        accept_url: ACCEPT_URL,
      }),
    );

    await invite("cy@example.org", "admin");

    const link = await screen.findByRole("textbox", { name: "Accept link" });
    expect(link).toHaveValue(ACCEPT_URL);
    expect(link).toHaveAttribute("readonly");
    expect(screen.getByText(/No email was sent/)).toHaveTextContent(
      "cy@example.org joins Acme as Admin",
    );
    expect(fake.requests[0].body).toEqual({ email: "cy@example.org", role: "admin" });

    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Copy link" }));
    expect(await screen.findByRole("button", { name: "Copied" })).toBeInTheDocument();
    expect(await navigator.clipboard.readText()).toBe(ACCEPT_URL);
  });

  it("says the link is emailed for email delivery", async () => {
    renderDialog(() =>
      jsonResponse(201, {
        ...makeInvitation({ email: "cy@example.org", delivery: "email" }),
        accept_url: null,
      }),
    );

    await invite("cy@example.org", "viewer");

    expect(await screen.findByText("Invitation sent by email")).toBeInTheDocument();
    expect(screen.queryByRole("textbox", { name: "Accept link" })).toBeNull();
  });

  it("offers admins no owner role", () => {
    renderDialog(() => jsonResponse(500, {}), "admin");

    const roles = within(screen.getByRole("combobox", { name: "Role" }))
      .getAllByRole("option")
      .map((option) => option.textContent);
    expect(roles).toEqual(["Viewer", "Member", "Admin"]);
  });

  it("shows a field error at the email field", async () => {
    renderDialog(() =>
      jsonResponse(422, {
        title: "Invalid input",
        status: 422,
        errors: [{ field: "body.email", message: "value is not a valid email address" }],
      }),
    );

    await invite("not-an-address", "member");

    expect(await screen.findByText("value is not a valid email address")).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: /^Email/ })).toHaveAttribute("aria-invalid", "true");
  });

  it("shows a conflict in a banner", async () => {
    renderDialog(() =>
      jsonResponse(409, {
        title: "Conflict",
        status: 409,
        detail: "cy@example.org is already a member of this organisation",
      }),
    );

    await invite("cy@example.org", "member");

    expect(await screen.findByRole("alert")).toHaveTextContent(
      "cy@example.org is already a member of this organisation",
    );
  });
});
