"""The derive command line."""
from derive.cli.main import main  # noqa: E402,F401  (``derive.cli:main``, the entry point of older installs)
