"""``python -m braingo_core.cli`` runs the `braingo` command line."""
import sys

from braingo_core.cli import main

sys.exit(main())
