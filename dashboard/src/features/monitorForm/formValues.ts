import type { Monitor, MonitorCreate, MonitorKind, MonitorUpdate } from "../../api/types";

/** Editable state of the monitor form; numbers stay strings while the user types. */
export interface MonitorFormValues {
  name: string;
  kind: MonitorKind;
  /** URL for HTTP monitors, host:port (or a host name for DNS) for the other kinds. */
  address: string;
  intervalSeconds: string;
  timeoutSeconds: string;
  regions: string[];
  tags: string[];
  channelIds: string[];
  /** Comma-separated status codes, e.g. "200, 204"; empty accepts any 2xx. */
  expectedStatusCodes: string;
  keyword: string;
  followRedirects: boolean;
  verifyTls: boolean;
}

export type FormErrors = Partial<Record<keyof MonitorFormValues, string>>;

export const DEFAULT_VALUES: MonitorFormValues = {
  name: "",
  kind: "http",
  address: "",
  intervalSeconds: "60",
  timeoutSeconds: "10",
  regions: [],
  tags: [],
  channelIds: [],
  expectedStatusCodes: "",
  keyword: "",
  followRedirects: true,
  verifyTls: true,
};

export function valuesFromMonitor(monitor: Monitor): MonitorFormValues {
  const options = monitor.options;
  return {
    name: monitor.name,
    kind: monitor.kind,
    address: (monitor.kind === "http" ? monitor.url : monitor.target) ?? "",
    intervalSeconds: String(monitor.interval_seconds),
    timeoutSeconds: String(monitor.timeout_seconds),
    regions: monitor.regions,
    tags: monitor.tags,
    channelIds: monitor.channel_ids,
    expectedStatusCodes: (options.expected_status ?? []).join(", "),
    keyword: options.keyword ?? "",
    followRedirects: options.follow_redirects ?? true,
    verifyTls: options.verify_tls ?? true,
  };
}

export function addressPlaceholder(kind: MonitorKind): string {
  switch (kind) {
    case "http":
      return "https://example.com/health";
    case "dns":
      return "example.com";
    default:
      return "example.com:443";
  }
}

function parseStatusCodes(text: string): number[] | null {
  const parts = text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  const codes = parts.map(Number);
  if (codes.some((code) => !Number.isInteger(code) || code < 100 || code > 599)) return null;
  return codes;
}

/** Checks the form before sending; the API validates again and its errors are shown as well. */
export function validateValues(values: MonitorFormValues): FormErrors {
  const errors: FormErrors = {};
  if (values.name.trim() === "") errors.name = "Enter a name.";

  const address = values.address.trim();
  if (address === "") {
    errors.address = values.kind === "http" ? "Enter a URL." : "Enter a target.";
  } else if (values.kind === "http" && !/^https?:\/\//i.test(address)) {
    errors.address = "Enter a URL starting with http:// or https://.";
  } else if (values.kind !== "http" && values.kind !== "dns" && !/:\d+$/.test(address)) {
    errors.address = "Enter the target as host:port, e.g. example.com:443.";
  }

  const interval = Number(values.intervalSeconds);
  const timeout = Number(values.timeoutSeconds);
  if (!Number.isInteger(interval) || interval <= 0) {
    errors.intervalSeconds = "Enter a whole number of seconds above 0.";
  }
  if (!Number.isFinite(timeout) || timeout <= 0) {
    errors.timeoutSeconds = "Enter a number of seconds above 0.";
  } else if (Number.isInteger(interval) && timeout > interval) {
    errors.timeoutSeconds = "The timeout must not exceed the interval.";
  }

  if (values.regions.length === 0) errors.regions = "Pick at least one region.";
  if (values.kind === "http" && parseStatusCodes(values.expectedStatusCodes) === null) {
    errors.expectedStatusCodes = "Enter status codes from 100 to 599, separated by commas.";
  }
  return errors;
}

/** Request body for POST /monitors and PATCH /monitors/{id}; call after validateValues passes. */
export function toMonitorCreate(values: MonitorFormValues): MonitorCreate {
  const address = values.address.trim();
  const body: MonitorCreate = {
    name: values.name.trim(),
    kind: values.kind,
    url: values.kind === "http" ? address : null,
    target: values.kind === "http" ? null : address,
    interval_seconds: Number(values.intervalSeconds),
    timeout_seconds: Number(values.timeoutSeconds),
    regions: values.regions,
    tags: values.tags,
    channel_ids: values.channelIds,
  };

  if (values.kind === "http") {
    const codes = parseStatusCodes(values.expectedStatusCodes) ?? [];
    body.options = {
      follow_redirects: values.followRedirects,
      verify_tls: values.verifyTls,
      ...(codes.length > 0 ? { expected_status: codes } : {}),
      ...(values.keyword !== "" ? { keyword: values.keyword } : {}),
    };
  } else if (values.kind === "tls" || values.kind === "grpc") {
    body.options = { verify_tls: values.verifyTls };
  }
  return body;
}

/** Request body for PATCH /monitors/{id}: the create body without `kind`, which cannot change. */
export function toMonitorUpdate(values: MonitorFormValues): MonitorUpdate {
  const body: MonitorUpdate = toMonitorCreate(values);
  delete body.kind;
  return body;
}

/** Form field of each API field name, so API validation errors appear at the right input. */
const API_FIELDS: Record<string, keyof MonitorFormValues> = {
  name: "name",
  kind: "kind",
  url: "address",
  target: "address",
  interval_seconds: "intervalSeconds",
  timeout_seconds: "timeoutSeconds",
  regions: "regions",
  tags: "tags",
  channel_ids: "channelIds",
  "options.expected_status": "expectedStatusCodes",
  "options.keyword": "keyword",
  "options.follow_redirects": "followRedirects",
  "options.verify_tls": "verifyTls",
};

/**
 * Maps API field errors to form fields. Paths into lists ("regions.0") count for the list.
 * Errors on fields the form does not show go to `rest`.
 */
export function mapApiFieldErrors(apiErrors: Record<string, string>): {
  errors: FormErrors;
  rest: string[];
} {
  const errors: FormErrors = {};
  const rest: string[] = [];
  for (const [field, message] of Object.entries(apiErrors)) {
    const formField = API_FIELDS[field] ?? API_FIELDS[field.replace(/\.\d+$/, "")];
    if (formField && !errors[formField]) errors[formField] = message;
    else if (!formField) rest.push(field ? `${field}: ${message}` : message);
  }
  return { errors, rest };
}
