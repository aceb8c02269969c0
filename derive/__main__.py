"""``python -m derive``: the command line."""
from derive.cli.main import main

raise SystemExit(main())
