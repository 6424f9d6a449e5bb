"""Mometrics probe agent."""

__version__ = "0.1.0"

# Revision of the agent protocol this agent speaks, sent in Hello. Revision 2
# added RunCheck and CheckReport.
PROTOCOL_VERSION = 2
