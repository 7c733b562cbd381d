"""Fixed costs: the dispatch of a tiny call, and the validation gate alone."""

import numpy as np

from .common import BACKENDS, require_backend


class TinyCall:
    """A call whose arithmetic is negligible (a 1x4x4x4 input, groups=2, 3x3
    kernel): what gconv's Python layer, the gate and a backend's fixed
    costs add to every call."""

    params = [BACKENDS]
    param_names = ["backend"]

    def setup(self, backend):
        import gconv
        require_backend(backend)
        self.conv2d = gconv.conv2d
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((1, 4, 4, 4)).astype(np.float32)
        self.w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
        self.b = rng.standard_normal(4).astype(np.float32)
        self.conv2d(self.x, self.w, self.b, padding=1, groups=2, backend=backend)

    def time_tiny_conv2d(self, backend):
        self.conv2d(self.x, self.w, self.b, padding=1, groups=2, backend=backend)

    def time_tiny_conv2d_no_bias(self, backend):
        self.conv2d(self.x, self.w, padding=1, groups=2, backend=backend)


class Gate:
    """The validation gate without any backend: the public check_groups, for
    a valid configuration and for an invalid one (which builds the error
    message with the valid alternatives)."""

    def setup(self):
        import gconv
        self.check_groups = gconv.check_groups
        self.GroupsError = gconv.GroupsError

    def time_check_groups(self):
        self.check_groups(128, 128, 32)

    def time_check_groups_invalid(self):
        try:
            self.check_groups(12, 11, 3)
        except self.GroupsError:
            pass


class GateConv:
    """The whole argument check of a conv2d call on NumPy arrays, without a
    backend: gconv._gate.check_conv (skipped in a version where it is
    missing or has another signature)."""

    def setup(self):
        self.x = np.zeros((1, 4, 4, 4), np.float32)
        self.w = np.zeros((4, 2, 3, 3), np.float32)
        self.b = np.zeros(4, np.float32)
        try:
            from gconv._gate import check_conv
            check_conv(2, self.x, self.w, self.b, 1, 1, 1, 2, "zeros", "conv2d")
        except (ImportError, TypeError, ValueError) as exc:
            raise NotImplementedError(f"gconv._gate.check_conv differs here: {exc}")
        self.check_conv = check_conv

    def time_check_conv2d(self):
        self.check_conv(2, self.x, self.w, self.b, 1, 1, 1, 2, "zeros", "conv2d")
