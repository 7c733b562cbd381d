/* generic.c -- the generic direct convolution for float and double. */
#include "internal.h"

#include <math.h>

#define TYPE float
#define SFX f32
#include "generic.template.h"
#undef TYPE
#undef SFX

#define TYPE double
#define SFX f64
#include "generic.template.h"
#undef TYPE
#undef SFX
