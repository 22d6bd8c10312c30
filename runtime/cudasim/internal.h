/* cudasim's own header, shared by its files: streams, the work they run or record, fatal errors,
 * the 16-bit float conversions.  Not for programs (they include the headers in include/). */
#ifndef CUDASIM_INTERNAL_H
#define CUDASIM_INTERNAL_H

#include <functional>

#include "cuda_runtime.h"

namespace cudasim {

/* One unit of stream work: a kernel grid, a copy, a GEMM, a NCCL call or group. */
using Work = std::function<void()>;

/* Runs work now, in order, or appends it to the graph being captured on stream.  An error
 * (a capture invalidated, an implicit synchronisation with a captured stream) runs nothing. */
cudaError_t stream_submit(cudaStream_t stream, Work work);

/* Initialisation: cudaErrorNoDevice / cudaErrorInsufficientDriver as CUDASIM_DEVICES says. */
cudaError_t runtime_check(void);

/* Runs a kernel's grid now (kernel.cc). */
void grid_run(const char *name, dim3 grid, dim3 block, KernelCall *call);

/* "cudasim: MESSAGE", then abort. */
[[noreturn]] void fatal(const char *format, ...) __attribute__((format(printf, 1, 2)));

float half_to_float(unsigned short h);
unsigned short float_to_half(float f);
float bf16_to_float(unsigned short b);
unsigned short float_to_bf16(float f);

} // namespace cudasim

#endif
