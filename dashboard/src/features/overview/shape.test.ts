import { describe, expect, it } from "vitest";
import { makeOverviewItem } from "../../test/fixtures";
import { collectTags, filterOverview, sortOverview } from "./shape";

const items = [
  makeOverviewItem(
    { id: "a", name: "Website", url: "https://www.example.com", tags: ["prod", "web"] },
    { status: "up", uptime_24h: 0.99, last_latency_ms: 120 },
  ),
  makeOverviewItem(
    {
      id: "b",
      name: "Database",
      kind: "tcp",
      url: null,
      target: "db.internal:5432",
      tags: ["prod"],
    },
    { status: "down", uptime_24h: 0.5, last_latency_ms: null },
  ),
  makeOverviewItem(
    { id: "c", name: "Staging", url: "https://staging.example.com", tags: ["staging"] },
    { status: "degraded", uptime_24h: null, last_latency_ms: 30 },
  ),
];

const ids = (list: { monitor: { id: string } }[]) => list.map((item) => item.monitor.id);

describe("filterOverview", () => {
  it("matches the search in name, URL or target", () => {
    expect(ids(filterOverview(items, { search: "data", tags: [] }))).toEqual(["b"]);
    expect(ids(filterOverview(items, { search: "STAGING.example", tags: [] }))).toEqual(["c"]);
    expect(ids(filterOverview(items, { search: "5432", tags: [] }))).toEqual(["b"]);
  });

  it("requires every selected tag", () => {
    expect(ids(filterOverview(items, { search: "", tags: ["prod"] }))).toEqual(["a", "b"]);
    expect(ids(filterOverview(items, { search: "", tags: ["prod", "web"] }))).toEqual(["a"]);
  });

  it("keeps everything for an empty filter", () => {
    expect(filterOverview(items, { search: "  ", tags: [] })).toHaveLength(3);
  });
});

describe("sortOverview", () => {
  it("puts the worst state first", () => {
    expect(ids(sortOverview(items, "status", "asc"))).toEqual(["b", "c", "a"]);
  });

  it("sorts by name", () => {
    expect(ids(sortOverview(items, "name", "asc"))).toEqual(["b", "c", "a"]);
    expect(ids(sortOverview(items, "name", "desc"))).toEqual(["a", "c", "b"]);
  });

  it("keeps missing values last in both directions", () => {
    expect(ids(sortOverview(items, "uptime_24h", "desc"))).toEqual(["a", "b", "c"]);
    expect(ids(sortOverview(items, "uptime_24h", "asc"))).toEqual(["b", "a", "c"]);
    expect(ids(sortOverview(items, "latency", "asc"))).toEqual(["c", "a", "b"]);
  });

  it("does not change its input", () => {
    const copy = [...items];
    sortOverview(items, "name", "desc");
    expect(items).toEqual(copy);
  });
});

describe("collectTags", () => {
  it("lists each tag once, sorted", () => {
    expect(collectTags(items)).toEqual(["prod", "staging", "web"]);
  });
});
