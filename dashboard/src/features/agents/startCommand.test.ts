import { describe, expect, it } from "vitest";
import { agentStartCommand, shellQuote } from "./startCommand";

describe("agentStartCommand", () => {
  it("builds the start command", () => {
    expect(agentStartCommand("monitor.example.com", "eu-central", "tok_abc123")).toBe(
      "MOMETRICS_GATEWAY_ADDRESS=monitor.example.com:50051 MOMETRICS_AGENT_REGION=eu-central " +
        "MOMETRICS_AGENT_TOKEN=tok_abc123 mometrics-agent run",
    );
  });

  it("brackets an IPv6 host", () => {
    expect(agentStartCommand("::1", "r", "t")).toContain("MOMETRICS_GATEWAY_ADDRESS=[::1]:50051");
  });
});

describe("shellQuote", () => {
  it("quotes values with shell characters", () => {
    expect(shellQuote("eu central")).toBe("'eu central'");
    expect(shellQuote("it's")).toBe(`'it'"'"'s'`);
    expect(shellQuote("a$b")).toBe("'a$b'");
  });
});
