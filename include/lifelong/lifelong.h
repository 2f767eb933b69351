/* lifelong — the umbrella header: everything a plugin may use. */
#pragma once

#include <lifelong/runtime.h>
#include <lifelong/tensor.h>
#include <lifelong/ops.h>
#include <lifelong/optim.h>
#include <lifelong/idx.h>
#include <lifelong/plugin.h>
#include <lifelong/module.h>
#include <lifelong/dataset.h>
#include <lifelong/model.h>
#include <lifelong/strategy.h>
#include <lifelong/metrics.h>
#include <lifelong/toolkit/replay.h>
#include <lifelong/toolkit/importance.h>
#include <lifelong/toolkit/snapshot.h>
#include <lifelong/toolkit/penalty.h>
#include <lifelong/toolkit/lora.h>
#include <lifelong/toolkit/novelty.h>
