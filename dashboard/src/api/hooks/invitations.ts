import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useApi } from "../ApiContext";
import type {
  Invitation,
  InvitationCreate,
  InvitationCreated,
  InvitationPage,
  JoinedOrganization,
} from "../membershipTypes";
import { queryKeys } from "./keys";

// The API's maximum page size; most organisations have one page of pending invitations.
const INVITATIONS_LIMIT = 200;

function invitationsPath(organizationId: string): string {
  return `/organizations/${encodeURIComponent(organizationId)}/invitations`;
}

/**
 * Pending invitations of an organisation, newest first, one page at a time. Listing them needs
 * the admin role.
 */
export function usePendingInvitations(organizationId: string) {
  const api = useApi();
  return useInfiniteQuery({
    queryKey: queryKeys.invitations(organizationId),
    queryFn: ({ pageParam, signal }) =>
      api.get<InvitationPage>(
        invitationsPath(organizationId),
        { limit: INVITATIONS_LIMIT, sort: "-created_at", cursor: pageParam },
        signal,
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (lastPage) => lastPage.next_cursor,
  });
}

export function useCreateInvitation(organizationId: string) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: InvitationCreate) =>
      api.post<InvitationCreated>(invitationsPath(organizationId), body),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.invitations(organizationId) });
    },
  });
}

export function useRevokeInvitation(organizationId: string) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (invitation: Invitation) =>
      api.delete(`${invitationsPath(organizationId)}/${invitation.id}`),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.invitations(organizationId) });
    },
  });
}

/** Joins the organisation of an invitation token, as the signed-in user. */
export function useAcceptInvitation() {
  const api = useApi();
  return useMutation({
    mutationFn: (token: string) => api.post<JoinedOrganization>("/invitations/accept", { token }),
  });
}
