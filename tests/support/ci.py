"""Whether this run is CI's: there, a missing PostgreSQL or fixture folder fails the run
instead of skipping the tests that need it."""

from __future__ import annotations

import os

IN_CI = os.environ.get("CI", "").lower() == "true"
