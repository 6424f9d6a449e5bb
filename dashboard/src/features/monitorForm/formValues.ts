import type {
  Monitor,
  MonitorCreate,
  MonitorKind,
  MonitorOptions,
  MonitorUpdate,
} from "../../api/types";

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
  /** Comma-separated status codes and ranges, e.g. "200, 300-399". Empty accepts any 2xx. */
  expectedStatusCodes: string;
  keyword: string;
  followRedirects: boolean;
  /** gRPC only: connect over TLS instead of plaintext HTTP/2. */
  useTls: boolean;
  /** Verify the server's certificate: HTTP, TLS, and gRPC when useTls is on. */
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
  useTls: false,
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
    useTls: options.tls === true,
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

function isStatusCode(code: number): boolean {
  return Number.isInteger(code) && code >= 100 && code <= 599;
}

/**
 * Parses "200, 204, 300-399" into the API's form: numbers for codes, "low-high" strings for
 * ranges. Returns null when any part is not a code or range within 100-599.
 */
export function parseStatusCodes(text: string): Array<number | string> | null {
  const parts = text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");

  const codes: Array<number | string> = [];
  for (const part of parts) {
    const range = /^(\d+)\s*-\s*(\d+)$/.exec(part);
    if (range) {
      const low = Number(range[1]);
      const high = Number(range[2]);
      if (!isStatusCode(low) || !isStatusCode(high) || low > high) return null;
      codes.push(`${low}-${high}`);
    } else if (/^\d+$/.test(part) && isStatusCode(Number(part))) {
      codes.push(Number(part));
    } else {
      return null;
    }
  }
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
    errors.expectedStatusCodes = "Enter status codes or ranges from 100 to 599, e.g. 200, 300-399.";
  }
  return errors;
}

/** Options the form writes, and option keys it removes, for the fields `isChanged` selects. */
interface OptionChanges {
  set: MonitorOptions;
  unset: (keyof MonitorOptions)[];
}

/**
 * Collects the option writes of the form fields that `isChanged` selects, for the monitor's
 * kind. Options of other kinds and options the form does not show are never touched.
 */
function optionChanges(
  values: MonitorFormValues,
  isChanged: (field: keyof MonitorFormValues) => boolean,
): OptionChanges {
  const changes: OptionChanges = { set: {}, unset: [] };
  const { set, unset } = changes;

  if (values.kind === "http") {
    if (isChanged("expectedStatusCodes")) {
      const codes = parseStatusCodes(values.expectedStatusCodes) ?? [];
      if (codes.length > 0) set.expected_status = codes;
      else unset.push("expected_status");
    }
    if (isChanged("keyword")) {
      if (values.keyword !== "") set.keyword = values.keyword;
      else unset.push("keyword");
    }
    if (isChanged("followRedirects")) set.follow_redirects = values.followRedirects;
    if (isChanged("verifyTls")) set.verify_tls = values.verifyTls;
  } else if (values.kind === "tls") {
    if (isChanged("verifyTls")) set.verify_tls = values.verifyTls;
  } else if (values.kind === "grpc" && (isChanged("useTls") || isChanged("verifyTls"))) {
    // The agent reads verify_tls only over TLS, so the two are written together and a
    // plaintext monitor carries no verify_tls.
    set.tls = values.useTls;
    if (values.useTls) set.verify_tls = values.verifyTls;
    else unset.push("verify_tls");
  }
  return changes;
}

function hasChanges(changes: OptionChanges): boolean {
  return Object.keys(changes.set).length > 0 || changes.unset.length > 0;
}

/** Applies option changes on top of stored options, keeping every key the form does not own. */
function mergeOptions(
  stored: Monitor["options"],
  changes: OptionChanges,
): NonNullable<MonitorCreate["options"]> {
  const merged: Record<string, unknown> = { ...stored };
  for (const key of changes.unset) delete merged[key];
  return { ...merged, ...changes.set };
}

/** Builds the request body for POST /monitors. Call it after validateValues passes. */
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

  const options = optionChanges(values, () => true);
  if (hasChanges(options)) body.options = { ...options.set };
  return body;
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((item) => set.has(item));
}

/**
 * Builds the body for PATCH /monitors/{id} with only the fields that differ from the saved one.
 * The API replaces `options` whole, so a changed option is sent inside the saved options,
 * which keeps the options this form does not show (method, headers, assertions and others).
 */
export function toMonitorUpdate(values: MonitorFormValues, saved: Monitor): MonitorUpdate {
  const initial = valuesFromMonitor(saved);
  const body: MonitorUpdate = {};

  if (values.name.trim() !== initial.name.trim()) body.name = values.name.trim();
  const address = values.address.trim();
  if (address !== initial.address.trim()) {
    if (saved.kind === "http") body.url = address;
    else body.target = address;
  }
  if (Number(values.intervalSeconds) !== saved.interval_seconds) {
    body.interval_seconds = Number(values.intervalSeconds);
  }
  if (Number(values.timeoutSeconds) !== saved.timeout_seconds) {
    body.timeout_seconds = Number(values.timeoutSeconds);
  }
  if (!sameMembers(values.regions, initial.regions)) body.regions = values.regions;
  if (!sameMembers(values.tags, initial.tags)) body.tags = values.tags;
  if (!sameMembers(values.channelIds, initial.channelIds)) body.channel_ids = values.channelIds;

  const options = optionChanges(
    { ...values, kind: saved.kind },
    (field) => values[field] !== initial[field],
  );
  if (hasChanges(options)) body.options = mergeOptions(saved.options, options);
  return body;
}

/**
 * Builds the body for POST /monitors/test from the edit form: the saved monitor with the form's
 * changes, shaped like a create body, so the test runs what saving would store.
 */
export function toEditedDraft(values: MonitorFormValues, saved: Monitor): MonitorCreate {
  const update = toMonitorUpdate(values, saved);
  return {
    name: update.name ?? saved.name,
    kind: saved.kind,
    url: saved.kind === "http" ? (update.url ?? saved.url) : null,
    target: saved.kind === "http" ? null : (update.target ?? saved.target),
    interval_seconds: update.interval_seconds ?? saved.interval_seconds,
    timeout_seconds: update.timeout_seconds ?? saved.timeout_seconds,
    regions: update.regions ?? saved.regions,
    options: update.options ?? saved.options,
    // Fields the form does not show still take part in validation, such as a quorum above
    // the number of regions left after the form removed one.
    quorum: saved.quorum,
    alerting: saved.alerting,
    parent_id: saved.parent_id,
  };
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
  "options.tls": "useTls",
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
