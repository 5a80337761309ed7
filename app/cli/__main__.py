"""`python -m app.cli` is `sidekick`."""

import sys

from app.cli import main

sys.exit(main())
