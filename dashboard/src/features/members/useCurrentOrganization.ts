import { useSyncExternalStore } from "react";
import { useMe } from "../../api/hooks/me";
import type { Role } from "../../api/membershipTypes";
import { readOrganizationId, subscribeOrganizationId } from "../../api/organization";
import type { CurrentUser, Organization } from "../../api/types";
import { isRole } from "./roles";

export interface CurrentOrganization {
  organization: Organization;
  /** The signed-in user's role in it; null for a role this dashboard does not know. */
  role: Role | null;
  userId: string;
}

/**
 * Picks the organisation the API acts in: the stored choice when the user still belongs to it,
 * otherwise the first one, as the API does without an X-Organization-Id header.
 */
export function pickOrganization(
  user: CurrentUser,
  storedId: string | null,
): CurrentOrganization | null {
  const organization =
    user.organizations.find((candidate) => candidate.id === storedId) ?? user.organizations[0];
  if (!organization) return null;
  return {
    organization,
    role: isRole(organization.role) ? organization.role : null,
    userId: user.id,
  };
}

/** Returns the current user and organisation, and follows the organisation switcher. */
export function useCurrentOrganization() {
  const me = useMe();
  const storedId = useSyncExternalStore(subscribeOrganizationId, readOrganizationId);
  const current = me.data ? pickOrganization(me.data, storedId) : null;
  return { me, current };
}
