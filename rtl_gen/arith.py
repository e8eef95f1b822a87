"""Multiplication by constants as shifts and adds: no DSP48 where a few adders do."""
from __future__ import annotations

from amaranth import Const, Value


def csd_terms(b: int) -> list[tuple[int, int]]:
    """Canonical signed digits of b >= 0: [(sign, shift)] with b = sum(sign << shift), fewest terms."""
    terms, k = [], 0
    while b:
        if b & 1:
            digit = 2 - (b & 3)  # +1 if b = ...01, -1 if b = ...11
            terms.append((digit, k))
            b -= digit
        b >>= 1
        k += 1
    return terms


def times(x: Value, k: int) -> Value:
    """x * k for an unsigned x and a constant k >= 0, as a sum of shifted copies of x (one adder
    per set bit of k beyond the first); Yosys would otherwise map a wide constant product to a DSP."""
    terms = [x << i for i in range(k.bit_length()) if (k >> i) & 1]
    return sum(terms[1:], terms[0]) if terms else Const(0, 1)
