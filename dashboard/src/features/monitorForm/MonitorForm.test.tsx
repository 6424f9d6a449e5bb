import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError, parseProblem } from "../../api/problem";
import type { MonitorCreate } from "../../api/types";
import { DEFAULT_VALUES } from "./formValues";
import { MonitorForm } from "./MonitorForm";

const regions = [{ name: "eu-central", agents_live: 1, agents_total: 1, has_coverage: true }];

function renderForm(onSubmit: (body: MonitorCreate) => Promise<unknown>) {
  render(
    <MonitorForm
      initialValues={{ ...DEFAULT_VALUES, regions: ["eu-central"] }}
      regions={regions}
      channels={[]}
      submitLabel="Create monitor"
      onSubmit={onSubmit}
      onCancel={() => undefined}
    />,
  );
}

describe("MonitorForm", () => {
  it("blocks submission with client errors", async () => {
    const onSubmit = vi.fn();
    renderForm(onSubmit);

    await userEvent.click(screen.getByRole("button", { name: "Create monitor" }));

    expect(onSubmit).not.toHaveBeenCalled();
    expect(screen.getByText("Enter a name.")).toBeInTheDocument();
    expect(screen.getByText("Enter a URL.")).toBeInTheDocument();
  });

  it("shows API validation errors at the field", async () => {
    const error = new ApiError(
      parseProblem(422, {
        title: "Validation failed",
        errors: [{ field: "url", message: "resolves to a private address" }],
      }),
    );
    const onSubmit = vi.fn().mockRejectedValue(error);
    renderForm(onSubmit);

    await userEvent.type(screen.getByLabelText(/name/i), "Home");
    await userEvent.type(screen.getByLabelText(/^URL/), "https://example.com");
    await userEvent.click(screen.getByRole("button", { name: "Create monitor" }));

    expect(await screen.findByText("resolves to a private address")).toBeInTheDocument();
    expect(screen.getByLabelText(/^URL/)).toHaveAttribute("aria-invalid", "true");
    const body = onSubmit.mock.calls[0][0] as MonitorCreate;
    expect(body.url).toBe("https://example.com");
    expect(body.regions).toEqual(["eu-central"]);
  });

  it("asks for host:port when the kind is TCP", async () => {
    renderForm(vi.fn());

    await userEvent.click(screen.getByLabelText(/kind/i));
    await userEvent.click(await screen.findByRole("option", { name: "TCP port" }));

    expect(screen.getByLabelText(/^Target/)).toBeInTheDocument();
    expect(screen.queryByText("HTTP options")).not.toBeInTheDocument();
  });
});
