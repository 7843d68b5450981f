"""``python -m promoter``: the same as the ``promoter`` command."""

from __future__ import annotations

import sys

from promoter.cli.main import main

sys.exit(main())
