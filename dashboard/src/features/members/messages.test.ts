import { describe, expect, it } from "vitest";
import { ApiError, parseProblem } from "../../api/problem";
import { makeInvitation } from "../../test/memberFixtures";
import { deliveryStatus } from "./invitationStatus";
import { actionErrorMessage, sentence } from "./messages";

describe("actionErrorMessage", () => {
  it("explains a 403 with the API's reason", () => {
    const error = new ApiError(
      parseProblem(403, {
        title: "Forbidden",
        status: 403,
        detail: "this action needs the owner role; yours is admin",
      }),
    );
    expect(actionErrorMessage("change the role of bo@example.org", error)).toBe(
      "You are not allowed to change the role of bo@example.org. " +
        "This action needs the owner role; yours is admin.",
    );
  });

  it("says what failed for other errors", () => {
    const error = new ApiError(
      parseProblem(409, {
        title: "Conflict",
        status: 409,
        detail: "an organisation needs at least one owner; make someone else owner first",
      }),
    );
    expect(actionErrorMessage("leave Acme", error)).toBe(
      "Could not leave Acme. An organisation needs at least one owner; make someone else owner " +
        "first.",
    );
  });

  it("keeps a sentence's own full stop", () => {
    expect(sentence("done.")).toBe("Done.");
    expect(sentence("")).toBe("");
  });
});

describe("deliveryStatus", () => {
  it("marks link invitations as passed on by hand", () => {
    expect(deliveryStatus(makeInvitation({ delivery: "link" })).label).toBe("Link");
  });

  it("follows an email from queued to sent", () => {
    expect(deliveryStatus(makeInvitation({ delivery: "email" })).label).toBe("Email queued");
    const sent = deliveryStatus(
      makeInvitation({ delivery: "email", email_sent_at: "2024-05-01T10:00:05Z" }),
    );
    expect(sent.label).toBe("Email sent");
    expect(sent.isProblem).toBe(false);
  });

  it("shows the mail server's error", () => {
    const status = deliveryStatus(
      makeInvitation({ delivery: "email", email_error: "connection refused" }),
    );
    expect(status.label).toBe("Email not sent");
    expect(status.isProblem).toBe(true);
    expect(status.detail).toContain("connection refused");
  });
});
