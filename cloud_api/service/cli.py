"""One rule for both commands: bad input or a failure is one line on stderr and a non-zero exit."""
from __future__ import annotations

import sys
from typing import Callable

from .errors import ServiceError

# Exit codes: 2 = bad input or refused, 3 = try again later (the network), as `posline-gateway provision` uses.
EXIT_BAD_INPUT, EXIT_UNREACHABLE = 2, 3


def run_cli(prog: str, command: Callable[[], None],
            more: dict[type[BaseException], tuple[int, str]] | None = None) -> int:
    """Run a command's body; turn known errors into `prog: reason` and an exit code."""
    try:
        command()
    except tuple((more or {}).keys()) as err:
        code, prefix = next(v for k, v in (more or {}).items() if isinstance(err, k))
        print(f"{prog}: {prefix}{err}", file=sys.stderr)
        return code
    except ServiceError as err:
        print(f"{prog}: {err.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, ValueError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0
