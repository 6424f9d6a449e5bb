import type { Invitation, Member } from "../api/membershipTypes";
import type { CurrentUser } from "../api/types";

export const TOKENS = { accessToken: "access", refreshToken: "refresh" };

export function makeMe(
  role: string,
  organizations: CurrentUser["organizations"] = [],
): CurrentUser {
  return {
    id: "u1",
    email: "me@example.org",
    organizations: [{ id: "o1", name: "Acme", role }, ...organizations],
  };
}

export function makeMember(overrides: Partial<Member> = {}): Member {
  return {
    user_id: "u2",
    email: "bo@example.org",
    role: "member",
    joined_at: "2024-05-01T10:00:00Z",
    ...overrides,
  };
}

export function makeInvitation(overrides: Partial<Invitation> = {}): Invitation {
  return {
    id: "i1",
    organization_id: "o1",
    email: "cy@example.org",
    role: "viewer",
    invited_by: "u1",
    created_at: "2024-05-01T10:00:00Z",
    expires_at: "2099-05-08T10:00:00Z",
    delivery: "link",
    email_sent_at: null,
    email_error: null,
    ...overrides,
  };
}
