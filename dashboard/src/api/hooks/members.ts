import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useApi } from "../ApiContext";
import type { Member, MemberPage, Role } from "../membershipTypes";
import { queryKeys } from "./keys";

function membersPath(organizationId: string): string {
  return `/organizations/${encodeURIComponent(organizationId)}/members`;
}

/** Fetches the members of an organisation, which the API returns in one page, oldest first. */
export function useMembers(organizationId: string) {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.members(organizationId),
    queryFn: ({ signal }) => api.get<MemberPage>(membersPath(organizationId), undefined, signal),
  });
}

export function useChangeMemberRole(organizationId: string) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ member, role }: { member: Member; role: Role }) =>
      api.patch<Member>(`${membersPath(organizationId)}/${member.user_id}`, { role }),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.members(organizationId) });
      // The caller's own role may have changed, and /auth/me carries it.
      void queryClient.invalidateQueries({ queryKey: queryKeys.me });
    },
  });
}

export function useRemoveMember(organizationId: string) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (member: Member) => api.delete(`${membersPath(organizationId)}/${member.user_id}`),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.members(organizationId) });
    },
  });
}
