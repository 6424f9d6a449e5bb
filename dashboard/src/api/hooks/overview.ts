import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { ApiClient } from "../client";
import { useApi } from "../ApiContext";
import type { Overview } from "../types";
import { queryKeys } from "./keys";

export const OVERVIEW_POLL_MS = 10_000;

/** Cached overview together with the ETag it came with. */
export interface CachedOverview {
  overview: Overview;
  etag: string | null;
}

/**
 * Fetches the overview with If-None-Match, so an unchanged overview costs a 304 and keeps
 * `previous` as it is.
 */
export async function fetchOverview(
  api: ApiClient,
  previous: CachedOverview | undefined,
  signal?: AbortSignal,
): Promise<CachedOverview> {
  const result = await api.getConditional<Overview>("/overview", previous?.etag ?? null, signal);
  if (result.notModified) {
    if (previous) return previous;
    // A correct server sends 304 only for an ETag the client sent, so this path is a fallback.
    return { overview: await api.get<Overview>("/overview", undefined, signal), etag: null };
  }
  return { overview: result.data, etag: result.etag };
}

export function useOverview() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useQuery({
    queryKey: queryKeys.overview,
    queryFn: ({ signal }) =>
      fetchOverview(api, queryClient.getQueryData<CachedOverview>(queryKeys.overview), signal),
    refetchInterval: OVERVIEW_POLL_MS,
    select: (cached) => cached.overview,
  });
}
