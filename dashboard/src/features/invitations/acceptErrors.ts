import { ApiError, errorMessage } from "../../api/problem";
import { sentence } from "../members/messages";

/** Reason an invitation could not be accepted, from the API's status code. */
export type AcceptFailure =
  "not_found" | "no_longer_valid" | "other_address" | "already_member" | "other";

export interface AcceptError {
  failure: AcceptFailure;
  title: string;
  /** The API's own reason, such as the expiry time or both addresses. */
  message: string;
}

const FAILURES: Record<number, { failure: AcceptFailure; title: string }> = {
  404: { failure: "not_found", title: "Invitation not found" },
  410: { failure: "no_longer_valid", title: "Invitation no longer valid" },
  403: { failure: "other_address", title: "Invitation is for another email address" },
  409: { failure: "already_member", title: "Already a member" },
};

/**
 * Turns a failed accept or sign-up with an invitation token into a title and the API's reason:
 * 404 for an unknown token, 410 when expired, revoked, replaced or used, 403 for another address.
 */
export function describeAcceptError(error: unknown): AcceptError {
  const message = sentence(errorMessage(error));
  const known = error instanceof ApiError ? FAILURES[error.status] : undefined;
  if (known) return { ...known, message };
  return { failure: "other", title: "Could not accept the invitation", message };
}
