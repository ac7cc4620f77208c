"""``python -m nmpkit``: the command line (`nmpkit.app.cli`)."""

import sys

from nmpkit.app.cli import main

sys.exit(main())
