"""Building a network on PyTorch's meta device without running its initialisers.

A meta tensor has a shape and a dtype but no values, so an initialiser writing into one changes
nothing. It still costs: PyTorch runs several of them on the meta device (``normal_``, and the
``erfinv_`` and ``clamp_`` of ``trunc_normal_``) through Python reference implementations whose
first call imports ``torch._dynamo``, about 1.5 s on a small CPU, which used to be most of the
time `mmstudio predict` spent on checking a checkpoint. :class:`SkipMetaInit` skips those
writes on meta tensors; what they are called on is returned unchanged, so shapes, dtypes and
``requires_grad`` stay as the module made them, and tensors on a real device (the mel
filterbank, built on the CPU) are initialised as usual.
"""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

# In-place methods that only write values: the random fills and the arithmetic the
# initialisers of torch.nn and torchvision do after them. Methods that change a tensor's
# shape, strides or autograd flags (resize_, unsqueeze_, requires_grad_...) are not here.
_VALUE_WRITES = frozenset(
    getattr(torch.Tensor, name)
    for name in (
        "normal_",
        "uniform_",
        "bernoulli_",
        "random_",
        "exponential_",
        "geometric_",
        "log_normal_",
        "cauchy_",
        "erfinv_",
        "clamp_",
        "clamp_min_",
        "clamp_max_",
        "mul_",
        "div_",
        "add_",
        "sub_",
        "fill_",
        "zero_",
        "copy_",
    )
)


class SkipMetaInit(TorchFunctionMode):
    """Within ``with SkipMetaInit():`` (this thread only), value writes to meta tensors are
    skipped: torch.nn.init's functions and the in-place methods in ``_VALUE_WRITES``."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        # torch.nn.init's functions pass their tensor by keyword.
        target = args[0] if args else kwargs.get("tensor")
        if isinstance(target, torch.Tensor) and target.is_meta and _writes_values(func):
            return target
        return func(*args, **kwargs)


def _writes_values(func) -> bool:
    return func in _VALUE_WRITES or getattr(func, "__module__", None) == "torch.nn.init"
