"""The command line: ``treatalloc COMMAND ...``. Thin: it parses, calls, prints.

Each command lives in ``treatalloc/commands/<name>.py`` with ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; heavy imports happen inside ``run`` so start-up stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Sequence

from formulations.errors import TreatallocError

COMMANDS: dict[str, str] = {
    "solve": "treatalloc.commands.solve",
    "validate": "treatalloc.commands.validate",
    "whatif": "treatalloc.commands.whatif",
    "plan": "treatalloc.commands.plan",
    "generate": "treatalloc.commands.generate",
    "convert": "treatalloc.commands.convert",
    "info": "treatalloc.commands.info",
    "abtest": "treatalloc.commands.abtest",
    "dataset": "treatalloc.commands.dataset",
    "simulate": "treatalloc.commands.simulate",
    "fit": "treatalloc.commands.fit",
    "predict": "treatalloc.commands.predict",
    "evaluate": "treatalloc.commands.evaluate",
}

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INFEASIBLE, EXIT_LIMIT = 0, 1, 2, 3, 4


def build_parser() -> argparse.ArgumentParser:
    from treatalloc import __version__

    parser = argparse.ArgumentParser(
        prog="treatalloc",
        description="Marketing budget allocation: solve, validate, plan what-ifs, A/B tests.",
    )
    parser.add_argument("--version", action="version", version=f"treatalloc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from treatalloc import interrupts

    restore = interrupts.install()
    try:
        return int(args._run(args))
    except TreatallocError as e:
        print(f"treatalloc {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"treatalloc {args.command}: interrupted", file=sys.stderr)
        return interrupts.EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: not an error of ours; silence the final flush
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as e:  # an internal error: keep the traceback for the bug report
        traceback.print_exc(file=sys.stderr)
        print(
            f"treatalloc {args.command}: internal error: {type(e).__name__}: {e}", file=sys.stderr
        )
        return EXIT_INTERNAL
    finally:
        restore()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
