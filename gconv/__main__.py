"""``python -m gconv --cflags --libs``: the flags that compile and link a C
program against the header and library this package carries.  (A minimal
entry point; the full command line replaces it.)"""

import sys

from ._config import cflags, libs


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    flags = {"--cflags": cflags, "--libs": libs}
    if not args or any(a not in flags for a in args):
        print("usage: python -m gconv [--cflags] [--libs]", file=sys.stderr)
        return 2
    try:
        print(" ".join(flags[a]() for a in dict.fromkeys(args)))
    except RuntimeError as exc:
        print(f"gconv: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
