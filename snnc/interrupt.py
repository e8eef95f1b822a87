"""How an interrupted command ends: one line, exit status 130 (the console script, snnc.entry, and
the command line, snnc.cli, share it)."""
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
