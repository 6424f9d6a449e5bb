import { AcceptInvitation } from "../features/invitations/AcceptInvitation";

export function AcceptInvitationPage() {
  return <AcceptInvitation />;
}
