import { useQuery } from "@tanstack/react-query";
import { useApi } from "../ApiContext";
import type { CurrentUser } from "../types";
import { queryKeys } from "./keys";

export function useMe(enabled = true) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.me,
    queryFn: ({ signal }) => api.get<CurrentUser>("/auth/me", undefined, signal),
    enabled,
    staleTime: 60_000,
  });
}
