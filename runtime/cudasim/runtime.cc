/* runtime.cc: the CUDA runtime API subset on host memory.  Work runs synchronously at the call,
 * in order, except on a stream being captured, where it is recorded (stream_submit) and
 * cudaGraphLaunch replays it.  Device memory is checked on every copy: a range outside a live
 * allocation, or a direction that does not match the pointers, is cudaErrorInvalidValue. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "internal.h"

struct Capture {
    enum cudaStreamCaptureMode mode;
    bool invalidated;
    cudaStream_t origin;
    std::vector<cudaStream_t> streams;  // origin and the streams that joined it
    std::vector<cudasim::Work> work;
};

struct CUstream_st {
    unsigned flags;
    Capture *capture;
};

struct CUevent_st {
    unsigned flags;
    bool recorded;
    double time_ms;
    Capture *captured_in;
};

struct CUgraph_st {
    std::vector<cudasim::Work> work;
};

struct CUgraphExec_st {
    std::vector<cudasim::Work> work;
};

namespace cudasim {

void fatal(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("cudasim: ", stderr);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    abort();
}

namespace {

constexpr size_t DEVICE_MEMORY = (size_t)80 << 30;  // an H100's 80 GiB, per simulated device

struct Allocation {
    void *memory;  // held here, so that LeakSanitizer sees it: device memory lives until exit
    size_t size;
    int device;
};

int device_count = -1;  // -1: not read yet; -2: no driver
int current_device;
cudaError_t last_error = cudaSuccess;
// Never destroyed: memory handed out stays reachable until exit, when LeakSanitizer looks.
std::map<uintptr_t, Allocation> &device_allocations = *new std::map<uintptr_t, Allocation>;
std::set<void *> &host_allocations = *new std::set<void *>;
std::vector<Capture *> captures;  // active ones
size_t allocated[1024];

cudaError_t fail(cudaError_t e)
{
    if (e != cudaSuccess)
        last_error = e;
    return e;
}

void devices_read(void)
{
    if (device_count != -1)
        return;
    const char *s = getenv("CUDASIM_DEVICES");
    if (!s || !*s) {
        device_count = 8;
        return;
    }
    if (!strcmp(s, "nodriver")) {
        device_count = -2;
        return;
    }
    char *end;
    long n = strtol(s, &end, 10);
    if (*end || n < 0 || n > 1024)
        fatal("CUDASIM_DEVICES: expected a number of devices from 0 to 1024 or 'nodriver', "
              "saw '%s'", s);
    device_count = (int)n;
}

double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The live allocation holding [p, p + n), or null. */
const Allocation *device_range(const void *p, size_t n)
{
    uintptr_t a = (uintptr_t)p;
    auto it = device_allocations.upper_bound(a);
    if (it == device_allocations.begin())
        return nullptr;
    --it;
    if (a - it->first > it->second.size || n > it->second.size - (a - it->first))
        return nullptr;
    return &it->second;
}

bool is_device(const void *p)
{
    return device_range(p, 1) != nullptr;
}

/* The copy's pointers match its direction and lie inside live allocations. */
cudaError_t copy_check(void *dst, const void *src, size_t dst_extent, size_t src_extent,
                       enum cudaMemcpyKind kind)
{
    if (!dst || !src)
        return cudaErrorInvalidValue;
    bool dst_device, src_device;
    switch (kind) {
    case cudaMemcpyHostToHost:     dst_device = false, src_device = false; break;
    case cudaMemcpyHostToDevice:   dst_device = true, src_device = false; break;
    case cudaMemcpyDeviceToHost:   dst_device = false, src_device = true; break;
    case cudaMemcpyDeviceToDevice: dst_device = true, src_device = true; break;
    case cudaMemcpyDefault:        dst_device = is_device(dst), src_device = is_device(src); break;
    default:                       return cudaErrorInvalidValue;
    }
    if (dst_device ? !device_range(dst, dst_extent) : is_device(dst))
        return cudaErrorInvalidValue;
    if (src_device ? !device_range(src, src_extent) : is_device(src))
        return cudaErrorInvalidValue;
    return cudaSuccess;
}

void capture_invalidate(Capture *c)
{
    c->invalidated = true;
    c->work.clear();
}

/* A call that real CUDA forbids while a capture not in relaxed mode is active ("potentially
 * unsafe": it synchronises or allocates): invalidate those captures. */
cudaError_t unsafe_call(bool even_relaxed)
{
    cudaError_t e = cudaSuccess;
    for (Capture *c : captures)
        if (even_relaxed || c->mode != cudaStreamCaptureModeRelaxed) {
            capture_invalidate(c);
            e = cudaErrorStreamCaptureUnsupported;
        }
    return e;
}

/* Work on the legacy default stream synchronises with every blocking stream: one being captured
 * makes it an implicit dependency, which invalidates the capture. */
cudaError_t legacy_stream_check(void)
{
    cudaError_t e = cudaSuccess;
    for (Capture *c : captures)
        for (cudaStream_t s : c->streams)
            if (!(s->flags & cudaStreamNonBlocking)) {
                capture_invalidate(c);
                e = cudaErrorStreamCaptureImplicit;
                break;
            }
    return e;
}

void capture_end(Capture *c)
{
    for (cudaStream_t s : c->streams)
        s->capture = nullptr;
    captures.erase(std::find(captures.begin(), captures.end(), c));
}

} // namespace

cudaError_t runtime_check(void)
{
    devices_read();
    if (device_count == -2)
        return cudaErrorInsufficientDriver;
    if (device_count == 0)
        return cudaErrorNoDevice;
    return cudaSuccess;
}

cudaError_t stream_submit(cudaStream_t stream, Work work)
{
    if (!stream) {
        cudaError_t e = legacy_stream_check();
        if (e)
            return e;
    } else if (stream->capture) {
        if (stream->capture->invalidated)
            return cudaErrorStreamCaptureInvalidated;
        stream->capture->work.push_back(std::move(work));
        return cudaSuccess;
    }
    work();
    return cudaSuccess;
}

void launch(const char *name, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
            KernelCall *call)
{
    std::shared_ptr<KernelCall> owned(call);
    cudaError_t e = runtime_check();
    if (e) {
        fail(e);
        return;
    }
    unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
    if (threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 ||
        grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > INT_MAX || grid.y > 65535 ||
        grid.z > 65535) {
        fail(cudaErrorInvalidConfiguration);
        return;
    }
    if (shared_bytes > 48 * 1024) {
        fail(cudaErrorInvalidValue);
        return;
    }
    fail(stream_submit(stream, [name, grid, block, owned] {
        grid_run(name, grid, block, owned.get());
    }));
}

} // namespace cudasim

using namespace cudasim;

extern "C" {

/* errors */

#define CUDASIM_ERRORS(X)                                                                          \
    X(cudaSuccess, "no error")                                                                     \
    X(cudaErrorInvalidValue, "invalid argument")                                                   \
    X(cudaErrorMemoryAllocation, "out of memory")                                                  \
    X(cudaErrorInitializationError, "initialization error")                                        \
    X(cudaErrorInvalidConfiguration, "invalid configuration argument")                             \
    X(cudaErrorInvalidPitchValue, "invalid pitch argument")                                        \
    X(cudaErrorInsufficientDriver, "CUDA driver version is insufficient for CUDA runtime version") \
    X(cudaErrorNoDevice, "no CUDA-capable device is detected")                                     \
    X(cudaErrorInvalidDevice, "invalid device ordinal")                                            \
    X(cudaErrorInvalidResourceHandle, "invalid resource handle")                                   \
    X(cudaErrorIllegalState, "the operation cannot be performed in the present state")             \
    X(cudaErrorNotReady, "device not ready")                                                       \
    X(cudaErrorLaunchFailure, "unspecified launch failure")                                        \
    X(cudaErrorStreamCaptureUnsupported, "operation not permitted when stream is capturing")       \
    X(cudaErrorStreamCaptureInvalidated,                                                           \
      "operation failed due to a previous error during capture")                                   \
    X(cudaErrorStreamCaptureUnmatched, "the capture was not initiated in this stream")             \
    X(cudaErrorStreamCaptureImplicit, "operation would make the legacy stream depend on a "        \
                                      "capturing blocking stream")                                 \
    X(cudaErrorCapturedEvent, "operation not permitted on an event last recorded in a "            \
                              "capturing stream")

const char *cudaGetErrorString(cudaError_t error)
{
#define X(e, s) case e: return s;
    switch (error) { CUDASIM_ERRORS(X) }
#undef X
    return "unrecognized error code";
}

const char *cudaGetErrorName(cudaError_t error)
{
#define X(e, s) case e: return #e;
    switch (error) { CUDASIM_ERRORS(X) }
#undef X
    return "cudaErrorUnknown";
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) { return last_error; }

/* devices */

cudaError_t cudaGetDeviceCount(int *count)
{
    if (!count)
        return fail(cudaErrorInvalidValue);
    cudaError_t e = runtime_check();
    *count = e ? 0 : device_count;
    return fail(e);
}

cudaError_t cudaSetDevice(int device)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (device < 0 || device >= device_count)
        return fail(cudaErrorInvalidDevice);
    current_device = device;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!device)
        return fail(cudaErrorInvalidValue);
    *device = current_device;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!prop)
        return fail(cudaErrorInvalidValue);
    if (device < 0 || device >= device_count)
        return fail(cudaErrorInvalidDevice);
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "cudasim (CPU harness) device %d", device);
    prop->totalGlobalMem = DEVICE_MEMORY;
    prop->sharedMemPerBlock = 48 * 1024;
    prop->warpSize = 32;
    prop->maxThreadsPerBlock = 1024;
    prop->multiProcessorCount = 132;
    prop->major = 9;
    prop->minor = 0;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    return fail(unsafe_call(true));
}

cudaError_t cudaMemGetInfo(size_t *free, size_t *total)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!free || !total)
        return fail(cudaErrorInvalidValue);
    *total = DEVICE_MEMORY;
    *free = DEVICE_MEMORY - allocated[current_device];
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *runtimeVersion)
{
    if (!runtimeVersion)
        return fail(cudaErrorInvalidValue);
    *runtimeVersion = CUDART_VERSION;
    return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int *driverVersion)
{
    if (!driverVersion)
        return fail(cudaErrorInvalidValue);
    devices_read();
    *driverVersion = device_count == -2 ? 0 : CUDART_VERSION;
    return cudaSuccess;
}

/* memory */

cudaError_t cudaMalloc(void **devPtr, size_t size)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!devPtr)
        return fail(cudaErrorInvalidValue);
    if (cudaError_t e = unsafe_call(false))
        return fail(e);
    *devPtr = nullptr;
    if (size == 0)
        return cudaSuccess;
    if (size > DEVICE_MEMORY - allocated[current_device])
        return fail(cudaErrorMemoryAllocation);
    size_t rounded = (size + 255) & ~(size_t)255;
    void *p = aligned_alloc(256, rounded);
    if (!p)
        return fail(cudaErrorMemoryAllocation);
    memset(p, 0xff, size);  // never written: NaN, as a GPU's garbage would be
    device_allocations[(uintptr_t)p] = Allocation{p, size, current_device};
    allocated[current_device] += size;
    *devPtr = p;
    return cudaSuccess;
}

cudaError_t cudaFree(void *devPtr)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!devPtr)
        return cudaSuccess;
    if (cudaError_t e = unsafe_call(false))
        return fail(e);
    auto it = device_allocations.find((uintptr_t)devPtr);
    if (it == device_allocations.end())
        return fail(cudaErrorInvalidValue);
    allocated[it->second.device] -= it->second.size;
    device_allocations.erase(it);
    free(devPtr);
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void **ptr, size_t size)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!ptr)
        return fail(cudaErrorInvalidValue);
    if (cudaError_t e = unsafe_call(false))
        return fail(e);
    *ptr = nullptr;
    if (size == 0)
        return cudaSuccess;
    void *p = aligned_alloc(256, (size + 255) & ~(size_t)255);
    if (!p)
        return fail(cudaErrorMemoryAllocation);
    host_allocations.insert(p);
    *ptr = p;
    return cudaSuccess;
}

cudaError_t cudaFreeHost(void *ptr)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!ptr)
        return cudaSuccess;
    if (cudaError_t e = unsafe_call(false))
        return fail(e);
    if (!host_allocations.erase(ptr))
        return fail(cudaErrorInvalidValue);
    free(ptr);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                            cudaStream_t stream)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (count == 0)
        return cudaSuccess;
    if (cudaError_t e = copy_check(dst, src, count, count, kind))
        return fail(e);
    return fail(stream_submit(stream, [=] { memmove(dst, src, count); }));
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (cudaError_t e = unsafe_call(false))
        return fail(e);
    return cudaMemcpyAsync(dst, src, count, kind, nullptr);
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind kind,
                              cudaStream_t stream)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (width > dpitch || width > spitch)
        return fail(cudaErrorInvalidPitchValue);
    if (width == 0 || height == 0)
        return cudaSuccess;
    if (cudaError_t e = copy_check(dst, src, dpitch * (height - 1) + width,
                                   spitch * (height - 1) + width, kind))
        return fail(e);
    return fail(stream_submit(stream, [=] {
        for (size_t r = 0; r < height; r++)
            memmove((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
    }));
}

cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (count == 0)
        return cudaSuccess;
    if (!device_range(devPtr, count))
        return fail(cudaErrorInvalidValue);
    return fail(stream_submit(stream, [=] { memset(devPtr, value, count); }));
}

cudaError_t cudaMemset(void *devPtr, int value, size_t count)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (cudaError_t e = unsafe_call(false))
        return fail(e);
    return cudaMemsetAsync(devPtr, value, count, nullptr);
}

/* streams and events */

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!pStream || (flags & ~(unsigned)cudaStreamNonBlocking))
        return fail(cudaErrorInvalidValue);
    *pStream = new CUstream_st{flags, nullptr};
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *pStream)
{
    return cudaStreamCreateWithFlags(pStream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!stream)
        return fail(cudaErrorInvalidResourceHandle);
    if (stream->capture) {
        Capture *c = stream->capture;
        capture_invalidate(c);
        c->streams.erase(std::find(c->streams.begin(), c->streams.end(), stream));
        if (c->origin == stream) {
            capture_end(c);
            delete c;
        }
    }
    delete stream;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (stream && stream->capture) {
        capture_invalidate(stream->capture);
        return fail(cudaErrorStreamCaptureUnsupported);
    }
    if (!stream)
        return fail(unsafe_call(false));
    return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!event || flags)
        return fail(cudaErrorInvalidValue);
    Capture *c = event->captured_in;
    if (c && std::find(captures.begin(), captures.end(), c) == captures.end())
        c = event->captured_in = nullptr;
    if (c && stream && !stream->capture) {  // fork: the stream joins the capture
        stream->capture = c;
        c->streams.push_back(stream);
    }
    return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!event || (flags & ~(unsigned)(cudaEventBlockingSync | cudaEventDisableTiming)))
        return fail(cudaErrorInvalidValue);
    *event = new CUevent_st{flags, false, 0, nullptr};
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *event)
{
    return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!event)
        return fail(cudaErrorInvalidResourceHandle);
    if (stream && stream->capture) {  // a capture dependency, not a node (as in CUDA)
        if (stream->capture->invalidated)
            return fail(cudaErrorStreamCaptureInvalidated);
        event->captured_in = stream->capture;
        return cudaSuccess;
    }
    return fail(stream_submit(stream, [event] {
        event->recorded = true;
        event->captured_in = nullptr;
        event->time_ms = now_ms();
    }));
}

cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!event)
        return fail(cudaErrorInvalidResourceHandle);
    if (event->captured_in &&
        std::find(captures.begin(), captures.end(), event->captured_in) != captures.end())
        return fail(cudaErrorCapturedEvent);
    return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!ms)
        return fail(cudaErrorInvalidValue);
    if (!start || !end || !start->recorded || !end->recorded ||
        ((start->flags | end->flags) & cudaEventDisableTiming))
        return fail(cudaErrorInvalidResourceHandle);
    *ms = (float)(end->time_ms - start->time_ms);
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!event)
        return fail(cudaErrorInvalidResourceHandle);
    delete event;
    return cudaSuccess;
}

/* graphs */

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!stream)
        return fail(cudaErrorStreamCaptureUnsupported);  // the legacy stream cannot be captured
    if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
        mode != cudaStreamCaptureModeRelaxed)
        return fail(cudaErrorInvalidValue);
    if (stream->capture)
        return fail(cudaErrorIllegalState);
    Capture *c = new Capture{mode, false, stream, {stream}, {}};
    stream->capture = c;
    captures.push_back(c);
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *pGraph)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!pGraph)
        return fail(cudaErrorInvalidValue);
    if (!stream || !stream->capture)
        return fail(cudaErrorIllegalState);
    Capture *c = stream->capture;
    if (c->origin != stream) {
        capture_invalidate(c);
        return fail(cudaErrorStreamCaptureUnmatched);
    }
    capture_end(c);
    cudaError_t e = cudaSuccess;
    *pGraph = nullptr;
    if (c->invalidated)
        e = cudaErrorStreamCaptureInvalidated;
    else
        *pGraph = new CUgraph_st{std::move(c->work)};
    delete c;
    return fail(e);
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *pGraphExec, cudaGraph_t graph,
                                 unsigned long long flags)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!pGraphExec || !graph || (flags & ~15ull))
        return fail(cudaErrorInvalidValue);
    *pGraphExec = new CUgraphExec_st{graph->work};
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t graphExec, cudaStream_t stream)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    if (!graphExec)
        return fail(cudaErrorInvalidValue);
    std::vector<Work> work = graphExec->work;
    return fail(stream_submit(stream, [work] {
        for (const Work &w : work)
            w();
    }));
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t graphExec)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    delete graphExec;
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph)
{
    if (cudaError_t e = runtime_check())
        return fail(e);
    delete graph;
    return cudaSuccess;
}

} // extern "C"
