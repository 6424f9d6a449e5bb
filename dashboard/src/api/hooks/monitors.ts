import {
  queryOptions,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
  type QueryClient,
} from "@tanstack/react-query";
import { useCallback } from "react";
import type { ApiClient } from "../client";
import { useApi } from "../ApiContext";
import type {
  CheckResult,
  CheckRun,
  Incident,
  ItemList,
  LatencySeries,
  Monitor,
  MonitorCreate,
  MonitorUpdate,
  Page,
  Uptime,
  UptimeWindow,
} from "../types";
import { queryKeys } from "./keys";

const DETAIL_POLL_MS = 30_000;
const RESULTS_PAGE_SIZE = 50;

function monitorQuery(api: ApiClient, id: string) {
  return queryOptions({
    queryKey: queryKeys.monitor(id),
    queryFn: ({ signal }) => api.get<Monitor>(`/monitors/${id}`, undefined, signal),
  });
}

function uptimeQuery(api: ApiClient, id: string, window: UptimeWindow) {
  return queryOptions({
    queryKey: queryKeys.uptime(id, window),
    queryFn: ({ signal }) => api.get<Uptime>(`/monitors/${id}/uptime`, { window }, signal),
  });
}

function latencyQuery(api: ApiClient, id: string, window: UptimeWindow) {
  return queryOptions({
    queryKey: queryKeys.latency(id, window),
    queryFn: ({ signal }) => api.get<LatencySeries>(`/monitors/${id}/latency`, { window }, signal),
  });
}

/**
 * Starts the requests of the monitor page's first screen (the monitor, its uptime and latency)
 * without waiting for the page's code, which loads in parallel.
 */
export function prefetchMonitorPage(
  queryClient: QueryClient,
  api: ApiClient,
  id: string,
  window: UptimeWindow,
): void {
  void queryClient.prefetchQuery(monitorQuery(api, id));
  void queryClient.prefetchQuery(uptimeQuery(api, id, window));
  void queryClient.prefetchQuery(latencyQuery(api, id, window));
}

/**
 * Fetches one monitor. With `isRefetchedOnMount` the cached copy is reloaded whenever the caller
 * mounts, because a form that sends back stored fields must start from the current ones.
 */
export function useMonitor(id: string, enabled = true, isRefetchedOnMount = false) {
  const api = useApi();
  return useQuery({
    ...monitorQuery(api, id),
    enabled,
    refetchOnMount: isRefetchedOnMount ? "always" : true,
  });
}

export function useUptime(id: string, window: UptimeWindow) {
  const api = useApi();
  return useQuery({
    ...uptimeQuery(api, id, window),
    refetchInterval: DETAIL_POLL_MS,
    placeholderData: (previous) => previous,
  });
}

export function useLatency(id: string, window: UptimeWindow) {
  const api = useApi();
  return useQuery({
    ...latencyQuery(api, id, window),
    refetchInterval: DETAIL_POLL_MS,
    placeholderData: (previous) => previous,
  });
}

/**
 * Raw check results, newest first, one page of 50 at a time. Empty filters mean "all". Nothing
 * is requested while `enabled` is false.
 */
export function useResults(id: string, region: string, status: string, enabled = true) {
  const api = useApi();
  return useInfiniteQuery({
    enabled,
    queryKey: queryKeys.results(id, region, status),
    queryFn: ({ pageParam, signal }) =>
      api.get<Page<CheckResult>>(
        `/monitors/${id}/results`,
        { region, status, limit: RESULTS_PAGE_SIZE, cursor: pageParam },
        signal,
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
  });
}

export function useIncidents(monitorId: string, enabled = true) {
  const api = useApi();
  return useQuery({
    enabled,
    queryKey: queryKeys.incidents(monitorId),
    queryFn: ({ signal }) =>
      api.get<ItemList<Incident>>("/incidents", { monitor_id: monitorId }, signal),
    refetchInterval: DETAIL_POLL_MS,
  });
}

export function useSaveMonitor(id: string | null) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: MonitorCreate | MonitorUpdate) =>
      id === null
        ? api.post<Monitor>("/monitors", body)
        : api.patch<Monitor>(`/monitors/${id}`, body),
    onSuccess: (monitor) => {
      queryClient.setQueryData(queryKeys.monitor(monitor.id), monitor);
      void queryClient.invalidateQueries({ queryKey: queryKeys.overview });
    },
  });
}

export function useSetPaused(id: string) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (paused: boolean) => api.patch<Monitor>(`/monitors/${id}`, { paused }),
    onSuccess: (monitor) => {
      queryClient.setQueryData(queryKeys.monitor(monitor.id), monitor);
      void queryClient.invalidateQueries({ queryKey: queryKeys.overview });
    },
  });
}

export function useDeleteMonitor() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.delete(`/monitors/${id}`),
    onSuccess: (_result, id) => {
      queryClient.removeQueries({ queryKey: queryKeys.monitor(id) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.overview });
    },
  });
}

/** A "test now" request: a saved monitor by id, or an unsaved monitor as a create body. */
export type TestRequest = { monitorId: string } | { draft: MonitorCreate };

/**
 * Returns a function that runs a monitor once in each of its regions. The API responds when
 * every region has reported or the monitor's timeout plus 5 s has passed.
 */
export function useRunTest() {
  const api = useApi();
  return useCallback(
    (request: TestRequest, signal: AbortSignal) =>
      "monitorId" in request
        ? api.post<CheckRun>(`/monitors/${request.monitorId}/test`, undefined, signal)
        : api.post<CheckRun>("/monitors/test", request.draft, signal),
    [api],
  );
}
