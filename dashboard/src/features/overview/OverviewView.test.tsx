import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it } from "vitest";
import type { OverviewItem } from "../../api/types";
import { makeOverviewItem } from "../../test/fixtures";
import { OverviewView } from "./OverviewView";

const items = [
  makeOverviewItem(
    { id: "a", name: "Website", tags: ["web"] },
    { status: "up", uptime_24h: 0.999996 },
  ),
  makeOverviewItem(
    { id: "b", name: "Billing", tags: ["prod"] },
    { status: "down", uptime_24h: 0.5 },
  ),
];

function renderView(list: OverviewItem[]) {
  render(
    <MemoryRouter>
      <OverviewView items={list} />
    </MemoryRouter>,
  );
}

function monitorNames(): string[] {
  const rows = within(screen.getByRole("table", { name: "Monitors" }))
    .getAllByRole("row")
    .slice(1);
  return rows.map((row) => within(row).getAllByRole("link")[0].textContent ?? "");
}

describe("OverviewView", () => {
  it("lists monitors with the worst state first", () => {
    renderView(items);
    expect(monitorNames()).toEqual(["Billing", "Website"]);
  });

  it("floors uptime and never rounds up to 100 %", () => {
    renderView(items);
    expect(screen.getByText("99.999 %")).toBeInTheDocument();
    expect(screen.queryByText("100 %")).not.toBeInTheDocument();
  });

  it("shows a chip per region with its state", () => {
    renderView(items.slice(0, 1));
    expect(screen.getByLabelText("eu-central: Up")).toBeInTheDocument();
  });

  it("filters by search text", async () => {
    renderView(items);
    await userEvent.type(screen.getByLabelText("Search"), "web");
    expect(monitorNames()).toEqual(["Website"]);
    expect(screen.getByText("1–1 of 1 matching, 2 monitors in all")).toBeInTheDocument();
  });

  it("shows 50 rows per page", async () => {
    const many = Array.from({ length: 120 }, (_, index) =>
      makeOverviewItem({ id: `m${index}`, name: `service-${String(index).padStart(3, "0")}` }),
    );
    renderView(many);
    await userEvent.click(screen.getByRole("button", { name: /^Monitor/ }));
    expect(monitorNames()).toHaveLength(50);
    expect(monitorNames()[0]).toBe("service-000");
    expect(screen.getByText("1–50 of 120 monitors")).toBeInTheDocument();

    await userEvent.click(screen.getByRole("button", { name: "Go to next page" }));
    expect(monitorNames()[0]).toBe("service-050");
    expect(screen.getByText("51–100 of 120 monitors")).toBeInTheDocument();
  });

  it("shows a no-match state", async () => {
    renderView(items);
    await userEvent.type(screen.getByLabelText("Search"), "zzz");
    expect(screen.getByText("No monitor matches")).toBeInTheDocument();
  });

  it("sorts by name when the header is clicked", async () => {
    renderView(items);
    await userEvent.click(screen.getByRole("button", { name: "Monitor" }));
    expect(monitorNames()).toEqual(["Billing", "Website"]);
    await userEvent.click(screen.getByRole("button", { name: "Monitor" }));
    expect(monitorNames()).toEqual(["Website", "Billing"]);
  });

  it("shows an empty state without monitors", () => {
    renderView([]);
    expect(screen.getByText("No monitors yet")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: /create your first monitor/i })).toHaveAttribute(
      "href",
      "/monitors/new",
    );
  });
});
