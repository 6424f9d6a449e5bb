"""Embedded PostgreSQL and Valkey servers for local development and tests.

The API lives in `mometrics_control.devstack.embedded`. This package does not
re-export it, because `python -m mometrics_control.devstack.embedded` warns
when the package has already imported the module it runs.
"""
