import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "./api/problem";

/**
 * Creates the query client. It retries server and network failures twice but not 4xx
 * responses, because a retry would not change them.
 */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        retry: (failureCount, error) => {
          if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
          return failureCount < 2;
        },
      },
    },
  });
}
