"""The interface every backend implements."""

import abc


class Backend(abc.ABC):
    """A way to compute a validated convolution.

    ``name`` is what users pass as ``backend=``.  ``unavailable()`` returns
    None when the backend can run here, else the reason it cannot.
    ``run(conv, x, w, b, num_threads)`` computes the convolution described by
    ``conv`` (a :class:`gconv._gate.Conv`) on ``x`` (batched), ``w`` and ``b``
    (NumPy arrays or torch tensors of ``conv.dtype``, ``b`` may be None) and
    returns the output in the backend's own array type.  Backends never
    validate: the gate has done that before they are called.
    """

    name = ""

    @abc.abstractmethod
    def unavailable(self):
        """None when usable here, else a short reason why not."""

    @abc.abstractmethod
    def run(self, conv, x, w, b, num_threads):
        """The output, of shape ``conv.out_shape``."""
