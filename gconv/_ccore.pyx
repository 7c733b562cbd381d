# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Thin wrapper over the C core (csrc/include/gconv.h).

Arrays arrive validated, C-contiguous and in native byte order; this module
only builds the C parameter struct, releases the GIL around the C call and
turns a status code into the matching Python exception with the C message.
"""

from cpython.buffer cimport (PyBUF_C_CONTIGUOUS, PyBUF_SIMPLE, PyBUF_WRITABLE,
                             PyBuffer_Release, PyObject_GetBuffer)
from libc.stdint cimport int64_t

from ._errors import GroupsError, ShapeError

cdef extern from "gconv.h" nogil:
    ctypedef enum gconv_status:
        GCONV_OK
        GCONV_ERR_GROUPS
        GCONV_ERR_SHAPE
        GCONV_ERR_OVERFLOW
        GCONV_ERR_BUFFER_SIZE
        GCONV_ERR_NULL_POINTER
        GCONV_ERR_STRUCT_SIZE
        GCONV_ERR_DTYPE
        GCONV_ERR_NO_MEMORY
        GCONV_ERR_OVERLAP

    enum: GCONV_MESSAGE_SIZE

    ctypedef struct gconv_params:
        size_t struct_size
        int ndim
        int64_t batch
        int64_t in_channels
        int64_t out_channels
        int64_t groups
        int64_t input_size[3]
        int64_t kernel_size[3]
        int64_t stride[3]
        int64_t pad_before[3]
        int64_t pad_after[3]
        int64_t dilation[3]

    const char *gconv_version()
    const char *gconv_strerror(gconv_status status)
    const char *gconv_isa()
    int gconv_has_openmp()
    int gconv_default_threads()
    void gconv_params_init(gconv_params *params, int ndim)
    gconv_status gconv_check_params(const gconv_params *params, char *msg,
                                    size_t msg_size)
    gconv_status gconv_output_shape(const gconv_params *params, int64_t *out_size,
                                    int64_t *out_elements)
    gconv_status gconv_conv_f32(const gconv_params *params,
                                const float *input, size_t input_len,
                                const float *weight, size_t weight_len,
                                const float *bias, size_t bias_len,
                                float *output, size_t output_len, int num_threads)
    gconv_status gconv_conv_f64(const gconv_params *params,
                                const double *input, size_t input_len,
                                const double *weight, size_t weight_len,
                                const double *bias, size_t bias_len,
                                double *output, size_t output_len, int num_threads)


def version():
    return gconv_version().decode()


def isa():
    """The vector path the kernels take on this CPU."""
    return gconv_isa().decode()


def has_openmp():
    return bool(gconv_has_openmp())


def default_threads():
    return gconv_default_threads()


def bytes_to_alignment(buf, size_t alignment):
    """How many bytes past its start the first address of buf (an object
    with the buffer interface) that is a multiple of alignment lies."""
    cdef Py_buffer view
    PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
    cdef size_t address = <size_t>view.buf
    PyBuffer_Release(&view)
    return (alignment - address % alignment) % alignment


cdef raise_status(gconv_status st, const gconv_params *p):
    cdef char msg[GCONV_MESSAGE_SIZE]
    if st == GCONV_ERR_GROUPS or st == GCONV_ERR_SHAPE or st == GCONV_ERR_OVERFLOW:
        gconv_check_params(p, msg, GCONV_MESSAGE_SIZE)
        text = msg.decode()
        raise (GroupsError if st == GCONV_ERR_GROUPS else ShapeError)(text)
    text = gconv_strerror(st).decode()
    if st == GCONV_ERR_NO_MEMORY:
        raise MemoryError(f"gconv: {text}")
    raise RuntimeError(f"gconv: {text}")


cdef void fill_params(gconv_params *p, int ndim, int64_t batch, int64_t cin,
                      int64_t cout, int64_t groups, in_size, kernel, stride,
                      pad_before, pad_after, dilation) except *:
    gconv_params_init(p, ndim)
    p.batch = batch
    p.in_channels = cin
    p.out_channels = cout
    p.groups = groups
    cdef int d
    for d in range(ndim):
        p.input_size[d] = in_size[d]
        p.kernel_size[d] = kernel[d]
        p.stride[d] = stride[d]
        p.pad_before[d] = pad_before[d]
        p.pad_after[d] = pad_after[d]
        p.dilation[d] = dilation[d]


def check_params(int ndim, int64_t batch, int64_t in_channels, int64_t out_channels,
                 int64_t groups, in_size, kernel, stride, pad_before, pad_after,
                 dilation):
    """(status name, message, output size) of gconv_check_params: exposes the
    C gate so the tests can hold it to the Python gate."""
    cdef gconv_params p
    cdef char msg[GCONV_MESSAGE_SIZE]
    cdef int64_t out[3]
    fill_params(&p, ndim if 1 <= ndim <= 3 else 3, batch, in_channels, out_channels,
                groups, in_size, kernel, stride, pad_before, pad_after, dilation)
    p.ndim = ndim
    cdef gconv_status st = gconv_check_params(&p, msg, GCONV_MESSAGE_SIZE)
    names = {GCONV_OK: "ok", GCONV_ERR_GROUPS: "groups", GCONV_ERR_SHAPE: "shape",
             GCONV_ERR_OVERFLOW: "overflow"}
    if st != GCONV_OK:
        return names.get(st, str(<int>st)), msg.decode(), None
    gconv_output_shape(&p, out, NULL)
    return "ok", "", tuple(out[d] for d in range(ndim))


cdef int _acquire(obj, Py_buffer *view, int flags) except -1:
    """A C-contiguous buffer of obj (None: an empty view)."""
    if obj is None:
        view.buf = NULL
        view.len = 0
        view.itemsize = 1
        return 0
    return PyObject_GetBuffer(obj, view, flags)


def conv(x, w, b, out, int ndim, int64_t batch, int64_t cin, int64_t cout,
         int64_t groups, in_size, kernel, stride, pad_before, pad_after, dilation,
         int num_threads):
    """Convolves x with w (and b, which may be None) into out: C-contiguous
    arrays of one dtype, float32 or float64, in native byte order."""
    cdef gconv_params p
    cdef Py_buffer bx, bw, bb, bo
    cdef gconv_status st
    cdef size_t item
    fill_params(&p, ndim, batch, cin, cout, groups, in_size, kernel, stride,
                pad_before, pad_after, dilation)
    _acquire(x, &bx, PyBUF_C_CONTIGUOUS)
    try:
        _acquire(w, &bw, PyBUF_C_CONTIGUOUS)
        try:
            _acquire(b, &bb, PyBUF_C_CONTIGUOUS)
            try:
                _acquire(out, &bo, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE)
                try:
                    item = <size_t>bx.itemsize
                    with nogil:
                        if item == 4:
                            st = gconv_conv_f32(
                                &p, <const float *>bx.buf, <size_t>bx.len // 4,
                                <const float *>bw.buf, <size_t>bw.len // 4,
                                <const float *>bb.buf, <size_t>bb.len // 4,
                                <float *>bo.buf, <size_t>bo.len // 4, num_threads)
                        else:
                            st = gconv_conv_f64(
                                &p, <const double *>bx.buf, <size_t>bx.len // 8,
                                <const double *>bw.buf, <size_t>bw.len // 8,
                                <const double *>bb.buf, <size_t>bb.len // 8,
                                <double *>bo.buf, <size_t>bo.len // 8, num_threads)
                finally:
                    PyBuffer_Release(&bo)
            finally:
                if b is not None:
                    PyBuffer_Release(&bb)
        finally:
            PyBuffer_Release(&bw)
    finally:
        PyBuffer_Release(&bx)
    if st != GCONV_OK:
        raise_status(st, &p)
