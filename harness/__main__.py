"""``python -m harness``: what ``make serve`` runs (``--help`` lists the options)."""

from __future__ import annotations

import sys

from harness.launcher import main

if __name__ == "__main__":
    sys.exit(main())
