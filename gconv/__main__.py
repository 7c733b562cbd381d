"""``python -m gconv``: see gconv/_cli.py (``python -m gconv --help``)."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
