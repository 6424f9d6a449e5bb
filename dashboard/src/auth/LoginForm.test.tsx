import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it, vi } from "vitest";
import { ApiError, parseProblem } from "../api/problem";
import { LoginForm } from "./LoginForm";

function renderForm(onSubmit: (email: string, password: string) => Promise<void>) {
  render(
    <MemoryRouter>
      <LoginForm onSubmit={onSubmit} />
    </MemoryRouter>,
  );
}

describe("LoginForm", () => {
  it("submits the entered credentials", async () => {
    const onSubmit = vi.fn().mockResolvedValue(undefined);
    renderForm(onSubmit);

    await userEvent.type(screen.getByLabelText(/email/i), "ada@example.com");
    await userEvent.type(screen.getByLabelText(/password/i), "correct horse");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));

    expect(onSubmit).toHaveBeenCalledWith("ada@example.com", "correct horse");
  });

  it("shows API field errors at the field", async () => {
    const error = new ApiError(
      parseProblem(422, {
        title: "Validation failed",
        errors: [{ field: "body.email", message: "is not a valid email address" }],
      }),
    );
    renderForm(vi.fn().mockRejectedValue(error));

    await userEvent.type(screen.getByLabelText(/email/i), "nope");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));

    const email = screen.getByLabelText(/email/i);
    expect(await screen.findByText("is not a valid email address")).toBeInTheDocument();
    expect(email).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText(/password/i)).toHaveAttribute("aria-invalid", "false");
  });

  it("shows other errors in a banner", async () => {
    const error = new ApiError(
      parseProblem(401, { title: "Invalid credentials", detail: "Wrong email or password." }),
    );
    renderForm(vi.fn().mockRejectedValue(error));

    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong email or password.");
  });
});
