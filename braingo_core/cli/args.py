"""argparse value types with ranges: a value outside its range is a usage error (exit 2), never a traceback."""
import argparse
import math

#: Longest simulated duration the CLI accepts (ms; 1e12 ms ≈ 31.7 years, far beyond any run).
MAX_DURATION_MS = 1e12


def number(lo, hi, what, lo_open=False):
    """An argparse type: a finite float in [lo, hi] (or (lo, hi] with ``lo_open``)."""
    def parse(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what}: {text!r} is not a number") from None
        if not math.isfinite(v) or v > hi or v < lo or (lo_open and v == lo):
            bound = f"({lo:g}, {hi:g}]" if lo_open else f"[{lo:g}, {hi:g}]"
            raise argparse.ArgumentTypeError(f"{what}: {text!r} is outside {bound}")
        return v
    return parse


def integer(lo, hi, what):
    """An argparse type: a decimal integer in [lo, hi]."""
    def parse(text):
        t = text.strip()
        if not (t.isascii() and t.lstrip("+-").isdigit()) or len(t) > 40:
            raise argparse.ArgumentTypeError(f"{what}: {text!r} is not a decimal integer")
        v = int(t)
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{what}: {v} is outside [{lo}, {hi}]")
        return v
    return parse
