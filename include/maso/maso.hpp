// maso/maso.hpp — the one header users include.
#pragma once

#include <maso/version.hpp>

#include <maso/core/error.hpp>
#include <maso/core/value_type.hpp>

#include <maso/simd/batch_loop.hpp>
#include <maso/simd/batch_ops.hpp>
#include <maso/simd/fused_loop.hpp>
#include <maso/simd/ops.hpp>
#include <maso/simd/scalar_arch.hpp>

#include <maso/vq/beta.hpp>
#include <maso/vq/derive.hpp>
#include <maso/vq/elementwise.hpp>
#include <maso/vq/kernel.hpp>
#include <maso/vq/unit.hpp>

#include <maso/vq/units/absolute.hpp>
#include <maso/vq/units/channel_max.hpp>
#include <maso/vq/units/leaky_relu.hpp>
#include <maso/vq/units/relu.hpp>
#include <maso/vq/units/window_max.hpp>

#include <maso/vq/soft/readout.hpp>
#include <maso/vq/soft/sigmoid_output.hpp>
#include <maso/vq/soft/softmax_output.hpp>
#include <maso/vq/soft/tanh_output.hpp>
