"""Shapes and widths below the IR: a convolution's and a pool's output shape, the bits of a signed
register or an unsigned counter, and the weight storage formats a synapse may ask for.  The IR,
the importers and the passes read them; nothing here knows the hardware."""
from __future__ import annotations


def conv_out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution along one axis (may be < 1 when the kernel does not fit)."""
    return (size + 2 * padding - kernel) // stride + 1


def conv_out_shape(c_out: int, in_shape: tuple[int, int, int], kernel: tuple[int, int], stride: int,
                   padding: int) -> tuple[int, int, int]:
    """[C_out, H_out, W_out] of a 2-D convolution of an input [C, H, W]."""
    return (int(c_out), conv_out_size(in_shape[1], kernel[0], stride, padding),
            conv_out_size(in_shape[2], kernel[1], stride, padding))


def pool_out_shape(in_shape: tuple[int, int, int], kernel: int) -> tuple[int, int, int]:
    """[C, H // k, W // k] of a k x k pool with stride k and no padding (rows and columns past the
    last whole window dropped)."""
    c, h, w = in_shape
    return (int(c), int(h) // kernel, int(w) // kernel)


def signed_bits(lo: int, hi: int) -> int:
    """Width of the smallest two's-complement register holding every integer in [lo, hi]."""
    return max((int(x) if x >= 0 else ~int(x)).bit_length() + 1 for x in (lo, hi))


def unsigned_bits(n: int) -> int:
    """Width of an unsigned counter or address that holds 0..n (at least 1 bit)."""
    return max(1, int(n).bit_length())




def axis_taps(y: int, size_out: int, kernel: int, stride: int, padding: int) -> tuple[tuple[int, int], ...]:
    """(output coordinate, kernel offset) pairs that input coordinate y feeds along one axis of a
    convolution with `size_out` outputs (consecutive outputs, ascending)."""
    return tuple((o, y + padding - o * stride) for o in range(size_out) if 0 <= y + padding - o * stride < kernel)


def max_axis_taps(size: int, kernel: int, stride: int, padding: int) -> int:
    """Most kernel offsets one input coordinate feeds along an axis of a convolution (at least 1):
    the output coordinates it feeds are consecutive, so that many accumulator banks taken by the
    output coordinate modulo their count never see one input twice."""
    size_out = conv_out_size(size, kernel, stride, padding)
    return max(1, max(len(axis_taps(y, size_out, kernel, stride, padding)) for y in range(size)))
