/* Test probe for runtime/tinyforge_fixedpoint.h: reads "name a b c" lines on stdin and
 * prints the function's result, so Python can compare with independent references. */
#include <stdio.h>
#include <string.h>

#include "tinyforge_fixedpoint.h"

int main(void)
{
    char name[32];
    long a, b, c;
    while (scanf("%31s %ld %ld %ld", name, &a, &b, &c) == 4) {
        long r;
        if (strcmp(name, "srdhm") == 0) r = tinyforge_srdhm((int32_t)a, (int32_t)b);
        else if (strcmp(name, "rdbypot") == 0) r = tinyforge_rdbypot((int32_t)a, (int)b);
        else if (strcmp(name, "mbqm") == 0) r = tinyforge_mbqm((int32_t)a, (int32_t)b, (int32_t)c);
        else if (strcmp(name, "mbqm_fast") == 0) r = tinyforge_mbqm_fast((int32_t)a, (int32_t)b, (int32_t)c);
        else if (strcmp(name, "exp") == 0) r = tinyforge_exp_on_negative_values((int32_t)a, (int)b);
        else if (strcmp(name, "logistic") == 0) r = tinyforge_logistic_q((int32_t)a, (int)b);
        else if (strcmp(name, "tanh") == 0) r = tinyforge_tanh_q((int32_t)a, (int)b);
        else if (strcmp(name, "recip") == 0) r = tinyforge_one_over_one_plus_x((int32_t)a);
        else return 3;
        printf("%ld\n", r);
    }
    return 0;
}
