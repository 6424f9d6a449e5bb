// Shapes of the organisation member and invitation routes of /api/v1.

/** A member's role, from least to most rights. */
export type Role = "viewer" | "member" | "admin" | "owner";

export interface Member {
  user_id: string;
  email: string;
  role: Role;
  joined_at: string;
}

export interface MemberPage {
  items: Member[];
  next_cursor: string | null;
}

/** Channel of the accept link: mailed by the control plane, or passed on by hand ("link"). */
export type InvitationDelivery = "email" | "link";

export interface Invitation {
  id: string;
  organization_id: string;
  /** Lower-cased by the API. */
  email: string;
  role: Role;
  invited_by: string | null;
  created_at: string;
  expires_at: string;
  delivery: InvitationDelivery;
  email_sent_at: string | null;
  /** The last failure to send the invitation email, if any. */
  email_error: string | null;
}

/** Response of POST /organizations/{id}/invitations. */
export interface InvitationCreated extends Invitation {
  /** The accept link with its token; only in this response, and only when delivery is "link". */
  accept_url: string | null;
}

export interface InvitationPage {
  items: Invitation[];
  next_cursor: string | null;
}

export interface InvitationCreate {
  email: string;
  role: Role;
}

/** An organisation with the caller's role in it, as POST /invitations/accept returns it. */
export interface JoinedOrganization {
  id: string;
  name: string;
  role: Role;
  created_at: string;
}
