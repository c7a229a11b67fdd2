"""``python -m geowarn.cli``: the ``geowarn`` command."""

import sys

from geowarn.cli.main import main

sys.exit(main())
