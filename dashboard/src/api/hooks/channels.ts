import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useApi } from "../ApiContext";
import type { Channel, ChannelCreate, ItemList } from "../types";
import { queryKeys } from "./keys";

// The API's maximum page size; the channel page and the monitor form read one page.
const CHANNELS_LIMIT = 200;

export function useChannels() {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.channels,
    queryFn: ({ signal }) =>
      api.get<ItemList<Channel>>("/channels", { limit: CHANNELS_LIMIT }, signal),
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
