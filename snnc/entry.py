"""The `snnc` console script: installs the signal handling, then imports the command line
(snnc.cli) inside it, so that Ctrl-C (or SIGTERM, SIGHUP) at any moment, the first second of
imports included, ends in one line and exit 130, never a traceback."""
import signal
import sys


def interrupted() -> int:
    """Say so in one line and return exit status 130.  Amaranth warns at exit of every component an
    interrupted elaboration left unused (as it stays silent after a crash, so do we)."""
    unused = sys.modules.get("amaranth._unused")
    if unused is not None:
        import warnings

        warnings.filterwarnings("ignore", category=unused.UnusedMustUse)
    print("snnc: interrupted", file=sys.stderr)
    return 130


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    for sig in (signal.SIGTERM, signal.SIGHUP):  # as Ctrl-C: every writer's cleanup runs on the way out
        signal.signal(sig, _raise_interrupt)
    try:
        # a Ctrl-C inside a C extension's import can crash the interpreter before any handler runs:
        # during the imports it is held, and taken as soon as they are done
        held = []
        previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
        try:
            from snnc.cli import main as cli_main
        finally:
            signal.signal(signal.SIGINT, previous)
        if held:
            raise KeyboardInterrupt
        code = cli_main(argv)
    except KeyboardInterrupt:
        code = interrupted()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the process is ending: a second Ctrl-C prints nothing
    return code


if __name__ == "__main__":
    sys.exit(main())
