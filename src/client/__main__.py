"""``python -m client``: the ``bedrock-stream`` command line (see :mod:`client.cli`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
