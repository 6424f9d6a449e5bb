import type { Role } from "../../api/membershipTypes";

/** Roles from least to most rights; each role can do everything the ones before it can. */
export const ROLES: readonly Role[] = ["viewer", "member", "admin", "owner"];

export const ROLE_LABELS: Record<Role, string> = {
  viewer: "Viewer",
  member: "Member",
  admin: "Admin",
  owner: "Owner",
};

/** Rights that each role adds to the roles before it, from the API's role table. */
export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  viewer: "Reads everything in the organisation",
  member: "Also manages monitors, maintenance windows and incidents",
  admin: "Also manages channels, agents, members and API keys",
  owner: "Also grants the owner role and can delete the organisation",
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

function rank(role: Role): number {
  return ROLES.indexOf(role);
}

/** Label of a role name from the API, which may be a role this dashboard does not know yet. */
export function roleLabel(role: string): string {
  return isRole(role) ? ROLE_LABELS[role] : role;
}

/** True for owners and admins, the roles that manage members and invitations. */
export function canManageMembers(role: Role | null): boolean {
  return role !== null && rank(role) >= rank("admin");
}

/** Roles that `actor` may give by invitation or role change: admins give up to admin. */
export function assignableRoles(actor: Role | null): Role[] {
  if (!canManageMembers(actor)) return [];
  return actor === "owner" ? [...ROLES] : ROLES.filter((role) => role !== "owner");
}

/**
 * True when `actor` may change the role of a member who has `target`, because only owners change
 * owners. Demoting the last owner passes this check, and the API rejects it with a 409.
 */
export function canChangeRole(actor: Role | null, target: Role): boolean {
  if (!canManageMembers(actor)) return false;
  return target !== "owner" || actor === "owner";
}

/** True when `actor` may remove another member who has `target`; anyone may leave. */
export function canRemoveMember(actor: Role | null, target: Role): boolean {
  return canChangeRole(actor, target);
}
