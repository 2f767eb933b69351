/* lifelong — the umbrella header: everything a plugin may use. */
#pragma once

#include <lifelong/runtime.h>
#include <lifelong/tensor.h>
#include <lifelong/ops.h>
#include <lifelong/optim.h>
#include <lifelong/idx.h>
