"""torchvision's model definitions for tests (random weights; nothing is downloaded).

The torchvision wheel here is built against CUDA and registers fake kernels for its C++
operators (nms, roi_align, …) at import, which fails beside the CPU build of torch
("operator torchvision::nms does not exist"). Model definitions need none of those operators,
so the registration is skipped while torchvision is imported.
"""

from __future__ import annotations

import torch
import torch.library

_real_register_fake = torch.library.register_fake
torch.library.register_fake = lambda *args, **kwargs: (lambda function: function)
try:
    import torchvision
finally:
    torch.library.register_fake = _real_register_fake

models = torchvision.models

__all__ = ["torchvision", "models"]
