// maso/maso.hpp — the one header users include.
#pragma once

#include <maso/version.hpp>

#include <maso/core/diagnostics.hpp>
#include <maso/core/error.hpp>
#include <maso/core/shape.hpp>
#include <maso/core/tensor.hpp>
#include <maso/core/type_list.hpp>
#include <maso/core/value_type.hpp>
#include <maso/core/weight_init.hpp>

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

#include <maso/expr/beta_spec.hpp>
#include <maso/expr/chain.hpp>
#include <maso/expr/node.hpp>

#include <maso/kernels/gemm.hpp>
#include <maso/kernels/im2col.hpp>
#include <maso/kernels/pointwise_chain.hpp>

#include <maso/layers/avgpool.hpp>
#include <maso/layers/batch_norm.hpp>
#include <maso/layers/bias.hpp>
#include <maso/layers/conv2d.hpp>
#include <maso/layers/dense.hpp>
#include <maso/layers/flatten.hpp>
#include <maso/layers/global_pool.hpp>
#include <maso/layers/input.hpp>
#include <maso/layers/maxout.hpp>
#include <maso/layers/maxpool.hpp>
#include <maso/layers/soft_output.hpp>
#include <maso/layers/softmax.hpp>
#include <maso/layers/softmax_cross_entropy.hpp>
#include <maso/layers/softpool.hpp>
#include <maso/layers/vq_node.hpp>

#include <maso/plan/backward.hpp>
#include <maso/plan/classify.hpp>
#include <maso/plan/describe.hpp>
#include <maso/plan/flatten.hpp>
#include <maso/plan/fuse.hpp>
#include <maso/plan/group.hpp>
#include <maso/plan/infer_shapes.hpp>
#include <maso/plan/lower.hpp>

#include <maso/train/adam.hpp>
#include <maso/train/clip.hpp>
#include <maso/train/count_correct.hpp>
#include <maso/train/epoch_metrics.hpp>
#include <maso/train/evaluate.hpp>
#include <maso/train/metrics_csv.hpp>
#include <maso/train/model.hpp>
#include <maso/train/progress.hpp>
#include <maso/train/schedule.hpp>
#include <maso/train/sgd.hpp>
#include <maso/train/sigint_flag.hpp>
#include <maso/train/step_report.hpp>
