// The one place that turns API failures (RFC 9457 problem details) into messages for people.

export interface FieldError {
  field: string;
  message: string;
}

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
}

/** Error thrown by the API client for any request that did not succeed. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: ProblemDetails;
  /** Seconds to wait before retrying, from a Retry-After header (429, 503); null without one. */
  readonly retryAfterSeconds: number | null;

  constructor(problem: ProblemDetails, retryAfterSeconds: number | null = null) {
    super(problemMessage(problem));
    this.name = "ApiError";
    this.status = problem.status;
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** Field messages keyed by form field name, for showing each one at its input. */
  get fieldErrors(): Record<string, string> {
    return fieldErrorMap(this.problem.errors ?? []);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseFieldErrors(value: unknown): FieldError[] | undefined {
  if (!Array.isArray(value)) return undefined;

  const errors: FieldError[] = [];
  for (const entry of value) {
    if (!isRecord(entry)) continue;
    const field = typeof entry.field === "string" ? entry.field : "";
    const message = typeof entry.message === "string" ? entry.message : "is invalid";
    errors.push({ field, message });
  }
  return errors;
}

const STATUS_TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Not signed in",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  422: "Invalid input",
  429: "Too many requests",
  500: "Server error",
  502: "Control plane unreachable",
  503: "Service unavailable",
  504: "Control plane timed out",
};

/**
 * Builds problem details from a response body of any shape, so a proxy's HTML error page or an
 * empty body still yields a readable message.
 */
export function parseProblem(status: number, body: unknown): ProblemDetails {
  const fallbackTitle = STATUS_TITLES[status] ?? `Request failed with HTTP ${status}`;
  if (!isRecord(body)) {
    return { type: "about:blank", title: fallbackTitle, status };
  }

  return {
    type: typeof body.type === "string" ? body.type : "about:blank",
    title: typeof body.title === "string" && body.title !== "" ? body.title : fallbackTitle,
    status: typeof body.status === "number" ? body.status : status,
    detail: typeof body.detail === "string" ? body.detail : undefined,
    errors: parseFieldErrors(body.errors),
  };
}

/**
 * Parses a Retry-After header, which holds either whole seconds or an HTTP date, into seconds
 * from `now`. Returns null when the header is missing or unreadable.
 */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);

  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** Problem details for a request that never got a response (offline, DNS, refused). */
export function networkProblem(cause: unknown): ProblemDetails {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return {
    type: "about:blank",
    title: "Network error",
    status: 0,
    detail: `Could not reach the control plane (${reason}). Check your connection and retry.`,
  };
}

/**
 * Normalises an API field path to a form field name: FastAPI-style locations such as
 * "body.options.keyword" become "options.keyword".
 */
export function normaliseField(field: string): string {
  return field.replace(/^body\./, "");
}

export function fieldErrorMap(errors: FieldError[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const error of errors) {
    const key = normaliseField(error.field);
    // Keep the first message per field, because the API lists the most specific one first.
    if (!(key in map)) map[key] = error.message;
  }
  return map;
}

/** One-line message for a problem: its detail when present, else its title. */
export function problemMessage(problem: ProblemDetails): string {
  if (problem.detail) return problem.detail;
  return problem.title;
}

/** Message for any thrown value, for error banners and snackbars. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}

/**
 * Splits the field errors of an ApiError into those of the given form fields and the rest.
 * The form shows `rest` in its banner, so no message is lost.
 */
export function splitFieldErrors(
  error: unknown,
  formFields: readonly string[],
): { fields: Record<string, string>; rest: string[] } {
  if (!(error instanceof ApiError)) return { fields: {}, rest: [] };

  const fields: Record<string, string> = {};
  const rest: string[] = [];
  for (const [field, message] of Object.entries(error.fieldErrors)) {
    if (formFields.includes(field)) fields[field] = message;
    else rest.push(field ? `${field}: ${message}` : message);
  }
  return { fields, rest };
}
