/* cudasim: cuda_runtime.h — the runtime API (cuda_runtime_api.h) and, in C++, the kernel side of
 * the CUDA execution model run on the CPU: qualifiers, dim3, the built-in indices, __shared__,
 * barriers, warp shuffles, device math, and cudasim_launch, g++'s spelling of <<<...>>>:
 *
 *     #ifdef __CUDACC__
 *     #define LAUNCH(k, g, b, s, st) k<<<g, b, s, st>>>
 *     #else
 *     #define LAUNCH(k, g, b, s, st) cudasim_launch(k, #k, g, b, s, st)
 *     #endif
 *     LAUNCH(rmsnorm, rows, 256, 0, stream)(y, x, w, n);
 *
 * Every CUDA thread of a block runs as its own fiber; see docs/cudasim.md for the order. */
#ifndef CUDASIM_CUDA_RUNTIME_H
#define CUDASIM_CUDA_RUNTIME_H

#include "cuda_runtime_api.h"

typedef struct uint3 {
    unsigned int x, y, z;
} uint3;

#ifndef __cplusplus
typedef struct dim3 {
    unsigned int x, y, z;
} dim3;
#else

#include <math.h>
#include <string.h>
#include <tuple>
#include <type_traits>
#include <utility>

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
        : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return uint3{x, y, z}; }
};

/* Qualifiers.  __shared__ variables are block-wide: static storage in section cudasim_shared,
 * which the harness fills with 0xFF bytes (NaN) before every block. */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __shared__ static __attribute__((section("cudasim_shared")))

namespace cudasim {
extern uint3 thread_idx, block_idx;
extern dim3 block_dim, grid_dim;

void syncthreads();
void syncwarp(unsigned mask);
enum ShuffleKind { SHUFFLE_IDX, SHUFFLE_DOWN, SHUFFLE_XOR };
unsigned long long shuffle(unsigned mask, unsigned long long bits, ShuffleKind kind, int arg,
                           int width, const char *function);

template <typename T> inline T shuffle_as(unsigned mask, T var, ShuffleKind kind, int arg,
                                          int width, const char *function)
{
    static_assert(sizeof(T) <= 8, "shuffled values are at most 8 bytes");
    unsigned long long bits = 0;
    memcpy(&bits, &var, sizeof var);
    bits = shuffle(mask, bits, kind, arg, width, function);
    T out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

/* A kernel with its arguments, copied by value; run once per CUDA thread. */
struct KernelCall {
    virtual ~KernelCall() {}
    virtual void run() = 0;
};

template <typename... P> struct BoundKernel final : KernelCall {
    void (*kernel)(P...);
    std::tuple<typename std::decay<P>::type...> args;
    template <typename... A>
    explicit BoundKernel(void (*k)(P...), A &&...a) : kernel(k), args(std::forward<A>(a)...) {}
    void run() override { std::apply(kernel, args); }
};

/* Runs the grid now, or records it while stream is captured; takes call. */
void launch(const char *name, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
            KernelCall *call);

template <typename... P> struct Launcher {
    void (*kernel)(P...);
    const char *name;
    dim3 grid, block;
    size_t shared_bytes;
    cudaStream_t stream;
    template <typename... A> void operator()(A &&...a) const
    {
        static_assert(sizeof...(A) == sizeof...(P), "wrong number of kernel arguments");
        launch(name, grid, block, shared_bytes, stream,
               new BoundKernel<P...>(kernel, std::forward<A>(a)...));
    }
};
} // namespace cudasim

/* cudasim_launch(kernel, "kernel", grid, block, shared_bytes, stream)(args...) is
 * kernel<<<grid, block, shared_bytes, stream>>>(args...). */
template <typename... P>
inline cudasim::Launcher<P...> cudasim_launch(void (*kernel)(P...), const char *name, dim3 grid,
                                              dim3 block, size_t shared_bytes = 0,
                                              cudaStream_t stream = 0)
{
    return cudasim::Launcher<P...>{kernel, name, grid, block, shared_bytes, stream};
}

/* Built-in variables: the running CUDA thread's, set by the harness at every switch. */
extern const uint3 &threadIdx;
extern const uint3 &blockIdx;
extern const dim3 &blockDim;
extern const dim3 &gridDim;
extern const int warpSize;

static inline void __syncthreads()
{
    __asm__ __volatile__("" ::: "memory");
    cudasim::syncthreads();
    __asm__ __volatile__("" ::: "memory");
}

static inline void __syncwarp(unsigned mask = 0xffffffffu)
{
    __asm__ __volatile__("" ::: "memory");
    cudasim::syncwarp(mask);
    __asm__ __volatile__("" ::: "memory");
}

#define CUDASIM_SHUFFLES(T)                                                                        \
    static inline T __shfl_sync(unsigned mask, T var, int srcLane, int width = 32)                \
    {                                                                                              \
        return cudasim::shuffle_as<T>(mask, var, cudasim::SHUFFLE_IDX, srcLane, width,             \
                                      "__shfl_sync");                                              \
    }                                                                                              \
    static inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32)        \
    {                                                                                              \
        return cudasim::shuffle_as<T>(mask, var, cudasim::SHUFFLE_DOWN, (int)delta, width,         \
                                      "__shfl_down_sync");                                         \
    }                                                                                              \
    static inline T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = 32)           \
    {                                                                                              \
        return cudasim::shuffle_as<T>(mask, var, cudasim::SHUFFLE_XOR, laneMask, width,            \
                                      "__shfl_xor_sync");                                          \
    }
CUDASIM_SHUFFLES(int)
CUDASIM_SHUFFLES(unsigned int)
CUDASIM_SHUFFLES(long long)
CUDASIM_SHUFFLES(unsigned long long)
CUDASIM_SHUFFLES(float)
CUDASIM_SHUFFLES(double)
#undef CUDASIM_SHUFFLES

/* Device math: expf logf tanhf erff sqrtf sinf cosf powf fmaxf fminf fabsf floorf and the double
 * exp log sin cos pow sqrt fabs floor come from the host's <math.h>; rsqrtf is CUDA's own. */
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }

#endif /* __cplusplus */

#endif
