"""The `snnc` console script: installs the signal handling, then imports the command line
(snnc.cli) inside it, so that Ctrl-C (or SIGTERM, SIGHUP) at any moment, the first second of
imports included, ends in one line and exit 130, never a traceback."""
import signal
import sys


def interrupted() -> int:
    """Say so in one line and return exit status 130; later signals and the warnings of objects
    left half-built (Amaranth's UnusedElaboratable, at exit) are silenced."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import warnings

    warnings.simplefilter("ignore")
    print("snnc: interrupted", file=sys.stderr)
    return 130


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    for sig in (signal.SIGTERM, signal.SIGHUP):  # as Ctrl-C: every writer's cleanup runs on the way out
        signal.signal(sig, _raise_interrupt)
    try:
        from snnc.cli import main as cli_main

        return cli_main(argv)
    except KeyboardInterrupt:
        return interrupted()


if __name__ == "__main__":
    sys.exit(main())
