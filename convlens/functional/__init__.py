"""Stateless operations: forward/backward pairs on NumPy arrays.

Each ``*_forward`` returns ``(output, cache)`` and each ``*_backward`` takes the output
gradient and that cache. Layers (``convlens.layers``) hold parameters and call these.
"""

from convlens.functional.activation import log_softmax, sigmoid, softmax
from convlens.functional.conv import conv, conv_backward, conv_forward
from convlens.functional.conv_arithmetic import output_shape, output_size, same_padding
from convlens.functional.engine import grad_enabled, loops_enabled, no_grad, set_use_loops, use_loops
from convlens.functional.linear import linear_backward, linear_forward
from convlens.functional.pool import pool_backward, pool_forward

__all__ = [
    "conv", "conv_forward", "conv_backward", "pool_forward", "pool_backward",
    "linear_forward", "linear_backward", "softmax", "log_softmax", "sigmoid",
    "output_size", "output_shape", "same_padding", "use_loops", "set_use_loops", "loops_enabled",
    "no_grad", "grad_enabled",
]
