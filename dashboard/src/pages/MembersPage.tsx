import { MembersView } from "../features/members/MembersView";

export function MembersPage() {
  return <MembersView />;
}
