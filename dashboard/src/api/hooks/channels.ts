import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useApi } from "../ApiContext";
import type { Channel, ChannelCreate, ItemList } from "../types";
import { queryKeys } from "./keys";

export function useChannels() {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.channels,
    queryFn: ({ signal }) => api.get<ItemList<Channel>>("/channels", undefined, signal),
  });
}

export function useCreateChannel() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ChannelCreate) => api.post<Channel>("/channels", body),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.channels }),
  });
}

export function useTestChannel() {
  const api = useApi();
  return useMutation({
    mutationFn: (id: string) => api.post<unknown>(`/channels/${id}/test`),
  });
}
