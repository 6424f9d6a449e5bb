import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useApi } from "../ApiContext";
import type {
  CheckResult,
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

export function useMonitor(id: string, enabled = true) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.monitor(id),
    queryFn: ({ signal }) => api.get<Monitor>(`/monitors/${id}`, undefined, signal),
    enabled,
  });
}

export function useUptime(id: string, window: UptimeWindow) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.uptime(id, window),
    queryFn: ({ signal }) => api.get<Uptime>(`/monitors/${id}/uptime`, { window }, signal),
    refetchInterval: DETAIL_POLL_MS,
    placeholderData: (previous) => previous,
  });
}

export function useLatency(id: string, window: UptimeWindow) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.latency(id, window),
    queryFn: ({ signal }) => api.get<LatencySeries>(`/monitors/${id}/latency`, { window }, signal),
    refetchInterval: DETAIL_POLL_MS,
    placeholderData: (previous) => previous,
  });
}

/** Raw check results, newest first, one page of 50 at a time. Empty filters mean "all". */
export function useResults(id: string, region: string, status: string) {
  const api = useApi();
  return useInfiniteQuery({
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

export function useIncidents(monitorId: string) {
  const api = useApi();
  return useQuery({
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
