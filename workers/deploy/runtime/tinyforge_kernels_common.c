/* Data-movement kernels shared by int8 and float32 graphs.
 * Hand-written runtime of the Tinyforge compiler; copied into every generated library. */
#include <string.h>

#include "tinyforge_kernels.h"

void tinyforge_copy(const void *input, void *output, int bytes)
{
    if (input != output) memmove(output, input, (size_t)bytes);
}

void tinyforge_pad(const tinyforge_pad_t *p, const void *input, const void *pad_value, void *output)
{
    const unsigned char *in = (const unsigned char *)input;
    unsigned char *out = (unsigned char *)output;
    const int e = p->elem_bytes;
    int od[4], i0, i1, i2, i3, k;
    for (k = 0; k < 4; ++k) od[k] = p->before[k] + p->in_dims[k] + p->after[k];
    for (i0 = 0; i0 < od[0]; ++i0)
        for (i1 = 0; i1 < od[1]; ++i1)
            for (i2 = 0; i2 < od[2]; ++i2)
                for (i3 = 0; i3 < od[3]; ++i3) {
                    const int j0 = i0 - p->before[0], j1 = i1 - p->before[1];
                    const int j2 = i2 - p->before[2], j3 = i3 - p->before[3];
                    const int inside = j0 >= 0 && j0 < p->in_dims[0] && j1 >= 0 && j1 < p->in_dims[1] &&
                                       j2 >= 0 && j2 < p->in_dims[2] && j3 >= 0 && j3 < p->in_dims[3];
                    const unsigned char *src = inside
                        ? in + ((((j0 * p->in_dims[1] + j1) * p->in_dims[2] + j2) * p->in_dims[3]) + j3) * e
                        : (const unsigned char *)pad_value;
                    memcpy(out, src, (size_t)e);
                    out += e;
                }
}

void tinyforge_concat(int outer, int n_inputs, const void *const *inputs, const int *inner_bytes, void *output)
{
    unsigned char *out = (unsigned char *)output;
    int o, i;
    for (o = 0; o < outer; ++o) {
        for (i = 0; i < n_inputs; ++i) {
            const unsigned char *src = (const unsigned char *)inputs[i] + (size_t)o * (size_t)inner_bytes[i];
            memcpy(out, src, (size_t)inner_bytes[i]);
            out += inner_bytes[i];
        }
    }
}
