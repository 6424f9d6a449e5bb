import { MenuItem, TextField } from "@mui/material";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { readOrganizationId, writeOrganizationId } from "../api/organization";
import type { Organization } from "../api/types";

/** Select for the organisation to act in; hidden for users with one organisation. */
export function OrganizationSwitcher({ organizations }: { organizations: Organization[] }) {
  const queryClient = useQueryClient();
  const [selected, setSelected] = useState(() => readOrganizationId());

  // A stored id from another account or a left organisation falls back to the default.
  useEffect(() => {
    if (selected && !organizations.some((organization) => organization.id === selected)) {
      writeOrganizationId(null);
      setSelected(null);
      void queryClient.invalidateQueries();
    }
  }, [organizations, selected, queryClient]);

  if (organizations.length < 2) return null;

  const handleChange = (id: string) => {
    writeOrganizationId(id);
    setSelected(id);
    // Every cached resource belongs to the previous organisation; /auth/me stays valid.
    queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== "me" });
  };

  return (
    <TextField
      select
      label="Organisation"
      value={selected ?? organizations[0].id}
      onChange={(event) => handleChange(event.target.value)}
      sx={{ minWidth: 160 }}
    >
      {organizations.map((organization) => (
        <MenuItem key={organization.id} value={organization.id}>
          {organization.name}
        </MenuItem>
      ))}
    </TextField>
  );
}
