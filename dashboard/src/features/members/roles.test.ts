import { describe, expect, it } from "vitest";
import {
  assignableRoles,
  canChangeRole,
  canManageMembers,
  canRemoveMember,
  isRole,
  roleLabel,
} from "./roles";

describe("roles", () => {
  it("lets owners and admins manage members", () => {
    expect(canManageMembers("owner")).toBe(true);
    expect(canManageMembers("admin")).toBe(true);
    expect(canManageMembers("member")).toBe(false);
    expect(canManageMembers("viewer")).toBe(false);
    expect(canManageMembers(null)).toBe(false);
  });

  it.each([
    ["owner", ["viewer", "member", "admin", "owner"]],
    ["admin", ["viewer", "member", "admin"]],
    ["member", []],
    ["viewer", []],
  ] as const)("assignable roles of %s", (actor, expected) => {
    expect(assignableRoles(actor)).toEqual(expected);
  });

  it("keeps owners out of reach of admins", () => {
    expect(canChangeRole("admin", "owner")).toBe(false);
    expect(canRemoveMember("admin", "owner")).toBe(false);
    expect(canChangeRole("admin", "admin")).toBe(true);
    expect(canChangeRole("owner", "owner")).toBe(true);
    expect(canRemoveMember("owner", "owner")).toBe(true);
    expect(canChangeRole("member", "viewer")).toBe(false);
  });

  it("labels unknown role names as they are", () => {
    expect(isRole("billing")).toBe(false);
    expect(roleLabel("billing")).toBe("billing");
    expect(roleLabel("admin")).toBe("Admin");
  });
});
