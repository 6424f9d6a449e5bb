"""Mometrics probe agent."""

__version__ = "0.1.0"

# Revision of the agent protocol this agent speaks; sent in Hello.
PROTOCOL_VERSION = 1
