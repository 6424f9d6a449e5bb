import { Alert, Button, Link, Stack, TextField } from "@mui/material";
import { useState, type FormEvent, type ReactNode } from "react";
import { Link as RouterLink } from "react-router-dom";
import { errorMessage, splitFieldErrors } from "../api/problem";

const FIELDS = ["email", "password", "organization_name"] as const;

export interface SignupValues {
  email: string;
  password: string;
  organization_name?: string;
}

interface SignupFormProps {
  onSubmit(values: SignupValues): Promise<void>;
  /** Leaves out the organisation name, for sign-ups that join an invited organisation. */
  hideOrganizationName?: boolean;
  /** Replaces the link to the sign-in page. */
  footer?: ReactNode;
}

export function SignupForm({ onSubmit, hideOrganizationName = false, footer }: SignupFormProps) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [organizationName, setOrganizationName] = useState("");
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [isSubmitting, setSubmitting] = useState(false);

  const handleSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitting(true);
    setFieldErrors({});
    setFormError(null);
    try {
      const trimmedName = organizationName.trim();
      await onSubmit({
        email,
        password,
        ...(trimmedName ? { organization_name: trimmedName } : {}),
      });
    } catch (error) {
      const { fields, rest } = splitFieldErrors(error, FIELDS);
      setFieldErrors(fields);
      if (rest.length > 0) setFormError(rest.join(" "));
      else if (Object.keys(fields).length === 0) setFormError(errorMessage(error));
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <Stack component="form" spacing={2} onSubmit={handleSubmit} noValidate>
      {formError && <Alert severity="error">{formError}</Alert>}
      <TextField
        label="Email"
        type="email"
        autoComplete="username"
        required
        autoFocus
        value={email}
        onChange={(event) => setEmail(event.target.value)}
        error={Boolean(fieldErrors.email)}
        helperText={fieldErrors.email}
      />
      <TextField
        label="Password"
        type="password"
        autoComplete="new-password"
        required
        value={password}
        onChange={(event) => setPassword(event.target.value)}
        error={Boolean(fieldErrors.password)}
        helperText={fieldErrors.password}
      />
      {!hideOrganizationName && (
        <TextField
          label="Organisation name (optional)"
          autoComplete="organization"
          value={organizationName}
          onChange={(event) => setOrganizationName(event.target.value)}
          error={Boolean(fieldErrors.organization_name)}
          helperText={fieldErrors.organization_name}
        />
      )}
      <Button type="submit" variant="contained" size="large" disabled={isSubmitting}>
        {isSubmitting ? "Creating account…" : "Create account"}
      </Button>
      {footer ?? (
        <Link component={RouterLink} to="/login" variant="body2">
          Already have an account? Sign in
        </Link>
      )}
    </Stack>
  );
}
