"""torchvision's model definitions, importable beside the CPU torch of the test venv.

The installed torchvision is a CUDA-linked build whose C++ operators (``torchvision::nms``)
cannot load here; only their fake-tensor registrations fail, and the model definitions do not
need them. So ``register_fake`` is a no-op while torchvision is imported.
"""

from __future__ import annotations

import torch.library

_real = torch.library.register_fake
torch.library.register_fake = lambda *a, **k: (lambda f: f)   # its C++ ops are not loadable here
try:
    import torchvision  # noqa: E402
finally:
    torch.library.register_fake = _real

models = torchvision.models
