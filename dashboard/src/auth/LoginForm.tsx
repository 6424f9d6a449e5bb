import { Alert, Button, Link, Stack, TextField } from "@mui/material";
import { useState, type FormEvent, type ReactNode } from "react";
import { Link as RouterLink } from "react-router-dom";
import { errorMessage, splitFieldErrors } from "../api/problem";

const FIELDS = ["email", "password"] as const;

interface LoginFormProps {
  onSubmit(email: string, password: string): Promise<void>;
  notice?: string;
  /** Replaces the link to the sign-up page. */
  footer?: ReactNode;
}

export function LoginForm({ onSubmit, notice, footer }: LoginFormProps) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [isSubmitting, setSubmitting] = useState(false);

  const handleSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitting(true);
    setFieldErrors({});
    setFormError(null);
    try {
      await onSubmit(email, password);
    } catch (error) {
      const { fields, rest } = splitFieldErrors(error, FIELDS);
      setFieldErrors(fields);
      setFormError(rest.length > 0 ? rest.join(" ") : errorMessage(error));
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <Stack component="form" spacing={2} onSubmit={handleSubmit} noValidate>
      {notice && <Alert severity="info">{notice}</Alert>}
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
        autoComplete="current-password"
        required
        value={password}
        onChange={(event) => setPassword(event.target.value)}
        error={Boolean(fieldErrors.password)}
        helperText={fieldErrors.password}
      />
      <Button type="submit" variant="contained" size="large" disabled={isSubmitting}>
        {isSubmitting ? "Signing in…" : "Sign in"}
      </Button>
      {footer ?? (
        <Link component={RouterLink} to="/signup" variant="body2">
          No account yet? Sign up
        </Link>
      )}
    </Stack>
  );
}
