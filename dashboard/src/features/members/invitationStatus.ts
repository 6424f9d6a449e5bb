import type { Invitation } from "../../api/membershipTypes";

export interface DeliveryStatus {
  label: string;
  /** Longer text for a tooltip or a screen reader, such as the mail server's error. */
  detail: string;
  isProblem: boolean;
}

/** Describes how far an invitation's link got: passed on by hand, email queued, sent or failed. */
export function deliveryStatus(invitation: Invitation): DeliveryStatus {
  if (invitation.delivery === "link") {
    return {
      label: "Link",
      detail: "No email is sent: the person who invited passes the link on.",
      isProblem: false,
    };
  }
  if (invitation.email_sent_at) {
    return { label: "Email sent", detail: "The accept link was emailed.", isProblem: false };
  }
  if (invitation.email_error) {
    return {
      label: "Email not sent",
      detail: `The last attempt to email the link failed: ${invitation.email_error}`,
      isProblem: true,
    };
  }
  return {
    label: "Email queued",
    detail: "The control plane has not sent the email yet.",
    isProblem: false,
  };
}
