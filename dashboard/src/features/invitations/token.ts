/** The dashboard path of the accept link the control plane builds (`#token=...` follows). */
export const ACCEPT_PATH = "/invitations/accept";

/**
 * Reads the invitation token from a URL fragment such as "#token=abc". The link keeps the token
 * in the fragment because browsers never send fragments to servers, so it stays out of logs.
 * Returns null when the fragment has no token.
 */
export function parseInvitationToken(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const token = params.get("token")?.trim() ?? "";
  return token === "" ? null : token;
}
