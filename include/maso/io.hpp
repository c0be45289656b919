// maso/io.hpp — the data side: data sets, their readers, preprocessing and batches;
// checkpoints, in the safetensors format; and the trainer (train/trainer.hpp), the loop that
// feeds a model its batches and writes its checkpoints.
//
// Separate from <maso/maso.hpp> because it needs zlib and nlohmann-json: link maso::io (maso
// plus ZLIB::ZLIB and nlohmann_json::nlohmann_json) rather than maso::maso to use it.
#pragma once

#include <maso/io/augment.hpp>
#include <maso/io/batch_sampler.hpp>
#include <maso/io/checkpoint.hpp>
#include <maso/io/cifar.hpp>
#include <maso/io/dataset.hpp>
#include <maso/io/gather.hpp>
#include <maso/io/idx.hpp>
#include <maso/io/image_shape.hpp>
#include <maso/io/prefetch.hpp>
#include <maso/io/preprocess.hpp>
#include <maso/io/random_state.hpp>
#include <maso/io/safetensors.hpp>
#include <maso/io/train_test.hpp>

#include <maso/train/trainer.hpp>
