/* fuzz_npy — libFuzzer harness for tpcrt_npy_parse: the input is a whole .npy file. A parsed
 * array must have exactly as many elements as its shape says (the last one is read back).
 * Always built with clang-14's sanitizers, so the lit run is the same in both builds: it runs
 * in the release one only.
 */
#include "internal.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TpcrtArray array;
    char err[TPCRT_ERROR_LEN];
    if (!tpcrt_npy_parse(data, size, &array, err, sizeof err))
        return 0;
    int64_t count = 1;
    for (int d = 0; d < array.ndim; d++)
        count *= array.shape[d];
    volatile int32_t last = count ? ((const int32_t *)array.data)[count - 1] : 0;
    (void)last;
    free(array.data);
    return 0;
}
