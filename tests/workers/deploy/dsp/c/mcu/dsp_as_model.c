/* Test shim: tinyforge_model_invoke runs the generated DSP block on one window. */
#include "tinyforge_model.h"

int tinyforge_model_invoke(const void *input, void *output)
{
    return tinyforge_dsp_run((const float *) input, (float *) output);
}
