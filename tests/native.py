"""What the native-against-Python tests share: a skip, saying why, where the extension is not
installed, and the switch that sends one module back to its pure-Python code for a block."""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any
from unittest import mock

import pytest

from glasskey.core import _native

NOT_INSTALLED = "glasskey_native is not installed (make native builds it; needs cargo)"
needs_native = pytest.mark.skipif(_native.vrf is None, reason=NOT_INSTALLED)


def without_native(module: ModuleType, attribute: str) -> AbstractContextManager[Any]:
    """Inside the block ``module.attribute`` (where the module keeps the extension) is None,
    so the module runs its Python reference; restored afterwards, also on an error."""
    return mock.patch.object(module, attribute, None)
