"""Entry point: `python -m ferry_bridge ...` or `python path/to/ferry_bridge ...`."""
import os
import sys

if not __package__:  # run as a directory script: make the package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ferry_bridge.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
