# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Thin wrapper over the C core (csrc/include/gconv.h).

Arrays arrive validated, C-contiguous and in native byte order; this module
only builds the C parameter struct, releases the GIL around the C call and
turns a status code into the matching Python exception with the C message.
"""

from cpython.buffer cimport (PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_SIMPLE, PyBUF_WRITABLE,
                             PyBuffer_Release, PyObject_GetBuffer)
from libc.stdint cimport int64_t, uintptr_t
from libc.stdlib cimport free, malloc

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


# ---- large outputs: memory kept for the next call --------------------------
#
# An output of many megabytes is fresh memory from the operating system on
# every call (glibc maps allocations above 32 MB anew each time): the kernel
# zeroes and maps each page at its first store, which for a 32 MB output
# costs as long as a memory-bound convolution itself.  The blocks of the
# last few such outputs, once their arrays are gone, are kept here and
# handed to the next call whose output fits (without wasting more than half
# of a block): at most _POOL_SLOTS blocks, _POOL_BYTES in all, the oldest
# given back first.  The GIL guards the pool (blocks return in
# OutputBuffer.__dealloc__ and leave in output_buffer, both holding it).

cdef extern from *:
    """
    #include <stdint.h>
    #if defined(__linux__)
    #  include <sys/mman.h>
    #endif
    /* Transparent huge pages for a new output block, as NumPy asks for its
       large arrays (fewer TLB misses over an output of many MB). */
    static void gconv_advise_huge(void *p, size_t n)
    {
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)4095;
        if (e > a)
            (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
    #else
        (void)p;
        (void)n;
    #endif
    }
    """
    void gconv_advise_huge(void *p, size_t n) nogil

cdef enum:
    _POOL_SLOTS = 2
    _ALIGN = 64

cdef char *_FORMAT_B = "B"
cdef size_t _POOL_BYTES = <size_t>256 << 20
cdef void *_pool_raw[_POOL_SLOTS]
cdef size_t _pool_cap[_POOL_SLOTS]
cdef int _pool_n = 0
cdef size_t _pool_bytes = 0


cdef void *_pool_take(int k) noexcept:
    """Removes block k from the pool (the others keep their order)."""
    global _pool_n, _pool_bytes
    cdef void *raw = _pool_raw[k]
    cdef int i
    _pool_bytes -= _pool_cap[k]
    for i in range(k + 1, _pool_n):
        _pool_raw[i - 1] = _pool_raw[i]
        _pool_cap[i - 1] = _pool_cap[i]
    _pool_n -= 1
    return raw


cdef void _pool_put(void *raw, size_t cap) noexcept:
    global _pool_n, _pool_bytes
    if cap > _POOL_BYTES:
        free(raw)
        return
    while _pool_n > 0 and (_pool_n == _POOL_SLOTS or _pool_bytes + cap > _POOL_BYTES):
        free(_pool_take(0))                    # the oldest
    _pool_raw[_pool_n] = raw
    _pool_cap[_pool_n] = cap
    _pool_n += 1
    _pool_bytes += cap


cdef class OutputBuffer:
    """nbytes writable bytes starting on a cache line, of a block that goes
    back to the pool when the last array over it is gone."""
    cdef void *raw
    cdef char *data
    cdef size_t cap
    cdef Py_ssize_t shape[1]
    cdef Py_ssize_t strides[1]

    def __cinit__(self):
        self.raw = NULL

    def __getbuffer__(self, Py_buffer *view, int flags):
        view.buf = self.data
        view.obj = self
        view.len = self.shape[0]
        view.readonly = 0
        view.itemsize = 1
        view.format = NULL
        if flags & PyBUF_FORMAT:
            view.format = _FORMAT_B
        view.ndim = 1
        view.shape = self.shape
        view.strides = self.strides
        view.suboffsets = NULL
        view.internal = NULL

    def __releasebuffer__(self, Py_buffer *view):
        pass

    def __dealloc__(self):
        if self.raw != NULL:
            _pool_put(self.raw, self.cap)
            self.raw = NULL


def output_buffer(size_t nbytes):
    """An OutputBuffer of nbytes: a block of the pool that fits, or a new one."""
    cdef OutputBuffer buf = OutputBuffer.__new__(OutputBuffer)
    cdef int i, best = -1
    for i in range(_pool_n):
        if (_pool_cap[i] >= nbytes and _pool_cap[i] - nbytes <= nbytes // 2 and
                (best < 0 or _pool_cap[i] < _pool_cap[best])):
            best = i
    if best >= 0:
        buf.cap = _pool_cap[best]
        buf.raw = _pool_take(best)
    else:
        if nbytes > (<size_t>-1) - _ALIGN:
            raise MemoryError(f"an output of {nbytes} bytes")
        buf.raw = malloc(nbytes + _ALIGN)
        if buf.raw == NULL:
            raise MemoryError(f"an output of {nbytes} bytes")
        gconv_advise_huge(buf.raw, nbytes + _ALIGN)
        buf.cap = nbytes
    buf.data = <char *>buf.raw + (_ALIGN - <uintptr_t>buf.raw % _ALIGN) % _ALIGN
    buf.shape[0] = <Py_ssize_t>nbytes
    buf.strides[0] = 1
    return buf


def output_pool():
    """The sizes in bytes of the blocks the pool holds, oldest first."""
    return [_pool_cap[i] for i in range(_pool_n)]


def output_pool_clear():
    """Gives every block of the pool back to the system."""
    global _pool_n, _pool_bytes
    cdef int i
    for i in range(_pool_n):
        free(_pool_raw[i])
    _pool_n = 0
    _pool_bytes = 0


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
