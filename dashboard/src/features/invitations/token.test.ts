import { describe, expect, it } from "vitest";
import { ApiError, parseProblem } from "../../api/problem";
import { describeAcceptError } from "./acceptErrors";
import { parseInvitationToken } from "./token";

describe("parseInvitationToken", () => {
  it("reads the token from the fragment", () => {
    expect(parseInvitationToken("#token=Ab-c_9")).toBe("Ab-c_9");
    expect(parseInvitationToken("token=Ab-c_9")).toBe("Ab-c_9");
  });

  it("returns null without a token", () => {
    expect(parseInvitationToken("")).toBeNull();
    expect(parseInvitationToken("#")).toBeNull();
    expect(parseInvitationToken("#token=")).toBeNull();
    expect(parseInvitationToken("#other=1")).toBeNull();
  });
});

describe("describeAcceptError", () => {
  const problem = (status: number, detail: string) =>
    new ApiError(parseProblem(status, { title: "x", status, detail }));

  it.each([
    [404, "not_found", "Invitation not found"],
    [410, "no_longer_valid", "Invitation no longer valid"],
    [403, "other_address", "Invitation is for another email address"],
    [409, "already_member", "Already a member"],
    [500, "other", "Could not accept the invitation"],
  ] as const)("HTTP %i", (status, failure, title) => {
    const described = describeAcceptError(problem(status, "the reason"));
    expect(described.failure).toBe(failure);
    expect(described.title).toBe(title);
    expect(described.message).toBe("The reason.");
  });

  it("keeps the API's expiry time in the message", () => {
    const described = describeAcceptError(
      problem(410, "this invitation expired at 2024-05-08T10:00:00+00:00; ask for a new one"),
    );
    expect(described.message).toBe(
      "This invitation expired at 2024-05-08T10:00:00+00:00; ask for a new one.",
    );
  });
});
