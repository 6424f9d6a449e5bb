import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useApi } from "../ApiContext";
import type { Agent, EnrolledAgent, ItemList, Region } from "../types";
import { queryKeys } from "./keys";

const AGENTS_POLL_MS = 15_000;

export function useRegions() {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.regions,
    queryFn: ({ signal }) => api.get<ItemList<Region>>("/regions", undefined, signal),
    refetchInterval: AGENTS_POLL_MS,
  });
}

export function useAgents() {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.agents,
    queryFn: ({ signal }) => api.get<ItemList<Agent>>("/agents", undefined, signal),
    refetchInterval: AGENTS_POLL_MS,
  });
}

export function useEnrolAgent() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; region: string }) =>
      api.post<EnrolledAgent>("/agents", body),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.agents });
      void queryClient.invalidateQueries({ queryKey: queryKeys.regions });
    },
  });
}

export function useRevokeAgent() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.delete(`/agents/${id}`),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.agents });
      void queryClient.invalidateQueries({ queryKey: queryKeys.regions });
    },
  });
}
