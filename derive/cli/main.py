"""The ``derive`` command line: finds the subcommands in derive/cli/commands and runs one.

Bad input ends with one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from derive.core.errors import DeriveError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage too)
        raise DeriveError(f"{self.prog}: {message}")


def _commands(only=None):
    """The command modules; ``only`` (a command's name): that one alone, so that ``derive
    sheet`` does not import what the other commands need (a fresh process pays for imports)."""
    import derive.cli.commands as pkg

    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))
    names = [only] if only in names else names
    mods = [importlib.import_module(f"derive.cli.commands.{name}") for name in names]
    order = getattr(pkg, "ORDER", ())
    return sorted(mods, key=lambda m: (order.index(m.NAME) if m.NAME in order else len(order), m.NAME))


def build_parser(argv=None) -> argparse.ArgumentParser:
    """The parser; given ``argv`` whose first word names a command, that command's alone."""
    parser = _Parser(prog="derive", description="Gradients two ways: symbolic and staged backprop.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for mod in _commands(argv[0] if argv else None):
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv=None) -> int:
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        if not getattr(args, "_run", None):
            parser.print_help()
            return 2
        args._argv = argv
        return int(args._run(args) or 0)
    except DeriveError as err:
        print(f"derive: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("derive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except RecursionError:
        print("derive: error: input nested too deeply", file=sys.stderr)
        return 2
    except MemoryError:
        print("derive: error: out of memory (the input is too large)", file=sys.stderr)
        return 2
    except Exception as err:  # a bug in derive: still one line, no traceback
        msg = " ".join(str(err).split())
        print(f"derive: internal error ({type(err).__name__}): {msg} (please report)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
