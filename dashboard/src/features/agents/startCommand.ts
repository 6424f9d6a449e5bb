/** Port of the control plane's agent gateway (gRPC). */
export const GATEWAY_PORT = 50051;

/**
 * Shell command that starts an enrolled agent. The gateway host is the host the dashboard was
 * loaded from, because the control plane serves both.
 */
export function agentStartCommand(host: string, region: string, token: string): string {
  return [
    `MOMETRICS_GATEWAY_ADDRESS=${bracketIpv6(host)}:${GATEWAY_PORT}`,
    `MOMETRICS_AGENT_REGION=${shellQuote(region)}`,
    `MOMETRICS_AGENT_TOKEN=${shellQuote(token)}`,
    "mometrics-agent run",
  ].join(" ");
}

/** Quotes a value for a POSIX shell unless it contains only safe characters. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_.:/@%+=-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'"'"'`)}'`;
}

/** Wraps a bare IPv6 address in brackets so that a port can follow it. */
function bracketIpv6(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
