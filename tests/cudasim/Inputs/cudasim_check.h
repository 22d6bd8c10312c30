/* The tests' call-site checks and launch macro, as tpc's generated code spells them. */
#include <stdio.h>
#include <stdlib.h>

#ifdef __CUDACC__
#define LAUNCH(k, g, b, s, st) k<<<g, b, s, st>>>
#else
#define LAUNCH(k, g, b, s, st) cudasim_launch(k, #k, g, b, s, st)
#endif

#define CUDA_CHECK(call)                                                                           \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorName(e_));   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
