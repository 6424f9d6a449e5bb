import type { OverviewItem } from "../../api/types";
import { STATUS_SEVERITY } from "../../lib/status";

export type SortKey = "status" | "name" | "uptime_24h" | "uptime_7d" | "uptime_30d" | "latency";
export type SortDirection = "asc" | "desc";

export interface OverviewFilter {
  search: string;
  /** Keeps monitors that have every one of these tags. */
  tags: string[];
}

export function collectTags(items: readonly OverviewItem[]): string[] {
  const tags = new Set<string>();
  for (const item of items) for (const tag of item.monitor.tags) tags.add(tag);
  return [...tags].sort((a, b) => a.localeCompare(b));
}

/**
 * Keeps items whose name, URL, target or a tag contains the search text and that have every
 * selected tag.
 */
export function filterOverview(
  items: readonly OverviewItem[],
  filter: OverviewFilter,
): OverviewItem[] {
  const needle = filter.search.trim().toLowerCase();
  return items.filter((item) => {
    const { monitor } = item;
    if (!filter.tags.every((tag) => monitor.tags.includes(tag))) return false;
    if (needle === "") return true;

    const haystack = [monitor.name, monitor.url ?? "", monitor.target ?? "", ...monitor.tags];
    return haystack.some((text) => text.toLowerCase().includes(needle));
  });
}

function sortValue(item: OverviewItem, key: SortKey): number | string | null {
  switch (key) {
    case "status":
      return STATUS_SEVERITY[item.status];
    case "name":
      return item.monitor.name.toLowerCase();
    case "uptime_24h":
      return item.uptime_24h;
    case "uptime_7d":
      return item.uptime_7d;
    case "uptime_30d":
      return item.uptime_30d;
    case "latency":
      return item.last_latency_ms;
  }
}

/**
 * Sorts a copy of the items. Missing values (no data) go last in both directions, and ties keep
 * name order so rows do not jump between polls.
 */
export function sortOverview(
  items: readonly OverviewItem[],
  key: SortKey,
  direction: SortDirection,
): OverviewItem[] {
  const sign = direction === "asc" ? 1 : -1;
  return [...items].sort((a, b) => {
    const left = sortValue(a, key);
    const right = sortValue(b, key);
    if (left === null && right !== null) return 1;
    if (right === null && left !== null) return -1;

    let order = 0;
    if (left !== null && right !== null) {
      order = typeof left === "string" ? left.localeCompare(String(right)) : left - Number(right);
    }
    if (order !== 0) return sign * order;
    return a.monitor.name.localeCompare(b.monitor.name);
  });
}
