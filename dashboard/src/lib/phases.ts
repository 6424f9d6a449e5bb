import type { Phases } from "../api/types";

/** The timed phases of a check, in the order they happen, with their display names. */
export const PHASES: { key: keyof Phases; label: string }[] = [
  { key: "dns_ms", label: "DNS" },
  { key: "connect_ms", label: "Connect" },
  { key: "tls_ms", label: "TLS" },
  { key: "first_byte_ms", label: "First byte" },
  { key: "transfer_ms", label: "Transfer" },
];
