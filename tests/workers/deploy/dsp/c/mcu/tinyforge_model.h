/* Test shim: presents a generated DSP configuration as a "model" to the Cortex-M harness of
 * workers/deploy/mcu (input = window floats, output = feature floats). */
#ifndef TINYFORGE_MODEL_H
#define TINYFORGE_MODEL_H

#include "tinyforge_dsp_config.h"

#define TINYFORGE_INPUT_BYTES (TINYFORGE_DSP_INPUT_FLOATS * 4)
#define TINYFORGE_OUTPUT_BYTES (TINYFORGE_DSP_N_FEATURES * 4)

int tinyforge_model_invoke(const void *input, void *output);

#endif
