"""The `snnc` console script: installs the signal handling, then imports the command line
(snnc.cli) inside it, so that Ctrl-C (or SIGTERM, SIGHUP) at any moment, the first second of
imports included, ends in one line and exit 130, never a traceback.  Only the program's entry
imports this module (its first line takes over Ctrl-C); the library never does."""
# Hold a Ctrl-C from the first line: _signal is the C module the interpreter loaded at start-up
# (signal.py, and every import after it, takes long enough for a Ctrl-C to land inside); a held
# one is taken once the command line is imported (main).
import _signal

_held: list[int] = []
_signal.signal(_signal.SIGINT, lambda signum, frame: _held.append(signum))

import signal  # noqa: E402
import sys  # noqa: E402

from snnc.interrupt import interrupted  # noqa: E402


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    for sig in (signal.SIGTERM, signal.SIGHUP):  # as Ctrl-C: every writer's cleanup runs on the way out
        signal.signal(sig, _raise_interrupt)
    try:
        # a Ctrl-C inside a C extension's import can crash the interpreter before any handler runs:
        # during the imports it is held (from this module's first line), and taken once they are done
        try:
            from snnc.cli import main as cli_main
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if _held:
            raise KeyboardInterrupt
        code = cli_main(argv)
    except KeyboardInterrupt:
        code = interrupted()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the process is ending: a second Ctrl-C prints nothing
    return code


if __name__ == "__main__":
    sys.exit(main())
