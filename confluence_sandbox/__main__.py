"""``python -m confluence_sandbox serve --port P --pages N --seed S``: run the local Confluence."""

import sys

from confluence_sandbox.cli import main

if __name__ == "__main__":
    sys.exit(main())
