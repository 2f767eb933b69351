/* lifelong — STUB, being written. */
#include "tensor-private.h"
