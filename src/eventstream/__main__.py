"""``python -m eventstream FILE``: dump a recorded event stream as JSON lines (see eventstream.dump)."""

from __future__ import annotations

import sys

from .dump import main

if __name__ == "__main__":
    sys.exit(main())
