/* kernel.cc: the CUDA execution model on one host thread.  A grid runs block after block; each
 * CUDA thread of a block is a fiber of its own (a small x86-64 context switch, ucontext
 * elsewhere), so __shared__, __syncthreads and warp shuffles keep their meaning.
 *
 * Order: the scheduler always resumes the lowest-numbered thread that can run, and a thread runs
 * until it finishes or blocks (a barrier, a shuffle, __syncwarp).  Thread 0 therefore sees none
 * of the other threads' writes since the last barrier, thread k only those of threads 0..k-1:
 * the usual consumer (thread 0, warp 0) of what the others produce reads shared memory they have
 * not written yet, which holds 0xFF bytes (NaN), since shared memory is filled with 0xFF before
 * every block.  A kernel with no barrier runs each thread to completion, one after another.
 *
 * A warp is the 32 threads 32w..32w+31 of the block's linear index; a shuffle or __syncwarp
 * waits until every lane of its mask (that exists) has arrived at one, then exchanges. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define CUDASIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define CUDASIM_ASAN 1
#endif
#endif

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace cudasim {
uint3 thread_idx, block_idx;
dim3 block_dim, grid_dim;
} // namespace cudasim

const uint3 &threadIdx = cudasim::thread_idx;
const uint3 &blockIdx = cudasim::block_idx;
const dim3 &blockDim = cudasim::block_dim;
const dim3 &gridDim = cudasim::grid_dim;
extern const int warpSize = 32;

/* GNU ld defines these for a section whose name is a C identifier; weak: no __shared__ at all. */
extern "C" char __start_cudasim_shared[] __attribute__((weak));
extern "C" char __stop_cudasim_shared[] __attribute__((weak));

#if defined(__x86_64__)
/* switch_context(save, to): pushes the callee-saved registers, MXCSR and the x87 control word,
 * saves the stack pointer in *save, and resumes the context whose stack pointer is to.
 * fiber_start: the first return of a new fiber lands here, with the fiber in r12 and the
 * function in r13. */
extern "C" void cudasim_switch_context(void **save, void *to);
extern "C" void cudasim_fiber_start(void);
__asm__(".text\n"
        ".globl cudasim_switch_context\n"
        ".type cudasim_switch_context, @function\n"
        "cudasim_switch_context:\n"
        "    pushq %rbp\n    pushq %rbx\n    pushq %r12\n    pushq %r13\n"
        "    pushq %r14\n    pushq %r15\n"
        "    subq $8, %rsp\n    stmxcsr (%rsp)\n    fnstcw 4(%rsp)\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    ldmxcsr (%rsp)\n    fldcw 4(%rsp)\n    addq $8, %rsp\n"
        "    popq %r15\n    popq %r14\n    popq %r13\n    popq %r12\n"
        "    popq %rbx\n    popq %rbp\n"
        "    ret\n"
        ".size cudasim_switch_context, .-cudasim_switch_context\n"
        ".globl cudasim_fiber_start\n"
        ".type cudasim_fiber_start, @function\n"
        "cudasim_fiber_start:\n"
        "    movq %r12, %rdi\n"
        "    callq *%r13\n"
        "    ud2\n"
        ".size cudasim_fiber_start, .-cudasim_fiber_start\n");
#endif

namespace cudasim {
namespace {

enum FiberState { FIBER_READY, FIBER_BARRIER, FIBER_WARP, FIBER_DONE };

struct Fiber {
#if defined(__x86_64__)
    void *sp;
#else
    ucontext_t context;
#endif
    char *stack;      // lowest usable byte (a guard page lies below)
    size_t stack_size;
    void *fake_stack; // ASan's, while switched away
    FiberState state;
    unsigned index;   // linear thread index in the block
    uint3 tid;
};

struct Warp {
    unsigned arrived;  // lanes waiting in the current shuffle / __syncwarp
    unsigned mask;     // its mask
    const char *function;
    unsigned long long value[32];
    int source[32];    // the lane each arrived lane reads, or -1: its own value
    unsigned long long result[32];
};

struct Block {
    const char *kernel;
    KernelCall *call;
    unsigned threads;
    unsigned done, at_barrier;
    unsigned ready_hint;  // no thread below it is ready
    Fiber *current;
    Warp *warps;
};

constexpr size_t STACK_SIZE = 256 * 1024;
constexpr size_t GUARD_SIZE = 4096;

Fiber *fibers;          // one per thread of the largest block so far, stacks kept
unsigned fiber_count;
Warp warps_storage[32];
Block block;
#if defined(__x86_64__)
void *scheduler_sp;
#else
ucontext_t scheduler_context;
#endif
void *scheduler_fake_stack;
const void *scheduler_stack_bottom;
size_t scheduler_stack_size;

void fibers_reserve(unsigned n)
{
    if (n <= fiber_count)
        return;
    Fiber *grown = (Fiber *)realloc(fibers, n * sizeof *grown);
    if (!grown)
        fatal("out of memory for %u fibers", n);
    fibers = grown;
    for (unsigned i = fiber_count; i < n; i++) {
        size_t size = STACK_SIZE + GUARD_SIZE;
        void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            fatal("cannot map a fiber stack: %s", strerror(errno));
        mprotect(p, GUARD_SIZE, PROT_NONE);
        fibers[i].stack = (char *)p + GUARD_SIZE;
        fibers[i].stack_size = STACK_SIZE;
    }
    fiber_count = n;
}

void asan_start(void **fake_stack, const void *bottom, size_t size)
{
#ifdef CUDASIM_ASAN
    __sanitizer_start_switch_fiber(fake_stack, bottom, size);
#else
    (void)fake_stack, (void)bottom, (void)size;
#endif
}

void asan_finish(void *fake_stack, const void **bottom, size_t *size)
{
#ifdef CUDASIM_ASAN
    __sanitizer_finish_switch_fiber(fake_stack, bottom, size);
#else
    (void)fake_stack, (void)bottom, (void)size;
#endif
}

void fiber_yield(Fiber *f)
{
    asan_start(&f->fake_stack, scheduler_stack_bottom, scheduler_stack_size);
#if defined(__x86_64__)
    cudasim_switch_context(&f->sp, scheduler_sp);
#else
    swapcontext(&f->context, &scheduler_context);
#endif
    asan_finish(f->fake_stack, nullptr, nullptr);
}

void fiber_main(Fiber *f)
{
    asan_finish(nullptr, &scheduler_stack_bottom, &scheduler_stack_size);
    block.call->run();
    f->state = FIBER_DONE;
    block.done++;
    asan_start(nullptr, scheduler_stack_bottom, scheduler_stack_size);
#if defined(__x86_64__)
    void *unused;
    cudasim_switch_context(&unused, scheduler_sp);
#else
    setcontext(&scheduler_context);
#endif
    __builtin_unreachable();
}

#if !defined(__x86_64__)
void fiber_entry(unsigned hi, unsigned lo)
{
    fiber_main((Fiber *)(((uintptr_t)hi << 32) | lo));
}
#endif

void fiber_prepare(Fiber *f)
{
#ifdef CUDASIM_ASAN
    // The stack's last user never unwound (a fiber ends by switching away): its frames' redzones
    // are still poisoned.
    __asan_unpoison_memory_region(f->stack, f->stack_size);
#endif
#if defined(__x86_64__)
    uintptr_t top = ((uintptr_t)f->stack + f->stack_size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - 80);
    uint32_t csr[2] = {0, 0};
    __asm__ __volatile__("stmxcsr %0\n\tfnstcw %1" : "=m"(csr[0]), "=m"(csr[1]));
    memcpy(sp, csr, 8);
    sp[1] = 0;                              // r15
    sp[2] = 0;                              // r14
    sp[3] = (uint64_t)(uintptr_t)&fiber_main; // r13
    sp[4] = (uint64_t)(uintptr_t)f;         // r12
    sp[5] = 0;                              // rbx
    sp[6] = 0;                              // rbp
    sp[7] = (uint64_t)(uintptr_t)&cudasim_fiber_start;
    f->sp = sp;
#else
    getcontext(&f->context);
    f->context.uc_stack.ss_sp = f->stack;
    f->context.uc_stack.ss_size = f->stack_size;
    f->context.uc_link = nullptr;
    uintptr_t p = (uintptr_t)f;
    makecontext(&f->context, (void (*)())fiber_entry, 2, (unsigned)(p >> 32), (unsigned)p);
#endif
}

void fiber_resume(Fiber *f)
{
    block.current = f;
    thread_idx = f->tid;
    asan_start(&scheduler_fake_stack, f->stack, f->stack_size);
#if defined(__x86_64__)
    cudasim_switch_context(&scheduler_sp, f->sp);
#else
    swapcontext(&scheduler_context, &f->context);
#endif
    asan_finish(scheduler_fake_stack, nullptr, nullptr);
    block.current = nullptr;
}

[[noreturn]] void block_fatal(const char *format, ...) __attribute__((format(printf, 1, 2)));
void block_fatal(const char *format, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, format);
    vsnprintf(message, sizeof message, format, ap);
    va_end(ap);
    fatal("kernel %s, block (%u,%u,%u): %s", block.kernel, block_idx.x, block_idx.y,
          block_idx.z, message);
}

__attribute__((no_sanitize("address"))) void shared_fill(void)
{
    if (!__start_cudasim_shared || !__stop_cudasim_shared)
        return;
    volatile char *p = __start_cudasim_shared;
    for (; p < (volatile char *)__stop_cudasim_shared; p++)
        *p = (char)0xff;
}

void make_ready(Fiber *f)
{
    f->state = FIBER_READY;
    if (f->index < block.ready_hint)
        block.ready_hint = f->index;
}

/* No thread can run: release a barrier all threads reached, or say why the block is stuck. */
void block_unblock(void)
{
    if (block.at_barrier == block.threads) {
        block.at_barrier = 0;
        for (unsigned i = 0; i < block.threads; i++)
            make_ready(&fibers[i]);
        return;
    }
    if (block.at_barrier > 0 && block.at_barrier + block.done == block.threads)
        block_fatal("__syncthreads reached by %u of %u threads", block.at_barrier,
                    block.threads);
    for (unsigned w = 0; w * 32 < block.threads; w++) {
        Warp *warp = &block.warps[w];
        if (warp->arrived)
            block_fatal("%s(0x%08x) in warp %u waits for lanes 0x%08x, which %s", warp->function,
                        warp->mask, w, warp->mask & ~warp->arrived,
                        block.done ? "exited or wait elsewhere" : "wait elsewhere");
    }
    block_fatal("deadlock: %u threads at __syncthreads, %u exited", block.at_barrier, block.done);
}

void block_run(unsigned threads)
{
    shared_fill();
    block.threads = threads;
    block.done = block.at_barrier = 0;
    block.ready_hint = 0;
    memset(warps_storage, 0, sizeof warps_storage);
    block.warps = warps_storage;
    for (unsigned i = 0; i < threads; i++) {
        Fiber *f = &fibers[i];
        f->state = FIBER_READY;
        f->index = i;
        f->tid = uint3{i % block_dim.x, i / block_dim.x % block_dim.y,
                       i / (block_dim.x * block_dim.y)};
        fiber_prepare(f);
    }
    while (block.done < threads) {
        unsigned i = block.ready_hint;
        while (i < threads && fibers[i].state != FIBER_READY)
            i++;
        block.ready_hint = i;
        if (i == threads) {
            block_unblock();
            continue;
        }
        fiber_resume(&fibers[i]);
    }
}

Fiber *current_thread(const char *function)
{
    Fiber *f = block.current;
    if (!f)
        fatal("%s called outside a kernel", function);
    return f;
}

} // namespace

void grid_run(const char *name, dim3 grid, dim3 block_shape, KernelCall *call)
{
    unsigned threads = block_shape.x * block_shape.y * block_shape.z;
    fibers_reserve(threads);
    block.kernel = name;
    block.call = call;
    grid_dim = grid;
    block_dim = block_shape;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                block_idx = uint3{x, y, z};
                block_run(threads);
            }
    block.call = nullptr;
}

void syncthreads()
{
    Fiber *f = current_thread("__syncthreads");
    f->state = FIBER_BARRIER;
    block.at_barrier++;
    fiber_yield(f);
}

/* The lane a lane reads in a shuffle of this kind, or -1 for its own value (PTX's rule: a source
 * past the end of the lane's segment of width lanes gives the lane's own value). */
static int shuffle_source(ShuffleKind kind, unsigned lane, int arg, int width)
{
    int base = (int)lane & ~(width - 1);
    int source;
    switch (kind) {
    case SHUFFLE_IDX:  return base + (arg & (width - 1));
    case SHUFFLE_DOWN: source = (int)lane + arg; break;
    case SHUFFLE_XOR:  source = (int)lane ^ arg; break;
    default:           return -1;
    }
    return source > base + width - 1 || source < 0 ? -1 : source;
}

static unsigned long long warp_exchange(unsigned mask, unsigned long long bits, ShuffleKind kind,
                                        int arg, int width, const char *function)
{
    Fiber *f = current_thread(function);
    unsigned lane = f->index % 32, w = f->index / 32;
    Warp *warp = &block.warps[w];
    if (!(mask & (1u << lane)))
        block_fatal("%s(0x%08x) called by lane %u of warp %u, which its mask does not name",
                    function, mask, lane, w);
    if (width < 1 || width > 32 || (width & (width - 1)))
        block_fatal("%s: width %d is not a power of 2 from 1 to 32", function, width);
    unsigned lanes_in_warp = block.threads - w * 32 < 32 ? block.threads - w * 32 : 32;
    unsigned existing = lanes_in_warp == 32 ? 0xffffffffu : (1u << lanes_in_warp) - 1;
    if (warp->arrived && (warp->mask != mask || strcmp(warp->function, function) != 0))
        block_fatal("warp %u: lane %u called %s(0x%08x) while lanes 0x%08x wait in %s(0x%08x)", w,
                    lane, function, mask, warp->arrived, warp->function, warp->mask);
    warp->mask = mask;
    warp->function = function;
    warp->value[lane] = bits;
    warp->source[lane] = shuffle_source(kind, lane, arg, width);
    warp->arrived |= 1u << lane;
    if (warp->arrived != (mask & existing)) {
        f->state = FIBER_WARP;
        fiber_yield(f);
        return warp->result[lane];
    }
    for (unsigned l = 0; l < 32; l++) {
        if (!(warp->arrived & (1u << l)))
            continue;
        int s = warp->source[l];
        if (s < 0)
            warp->result[l] = warp->value[l];
        else if (warp->arrived & (1u << s))
            warp->result[l] = warp->value[s];
        else
            warp->result[l] = ~0ull; // a lane outside the mask: undefined, here NaN
        if (l != lane)
            make_ready(&fibers[w * 32 + l]);
    }
    warp->arrived = 0;
    return warp->result[lane];
}

void syncwarp(unsigned mask)
{
    warp_exchange(mask, 0, SHUFFLE_IDX, 0, 32, "__syncwarp");
}

unsigned long long shuffle(unsigned mask, unsigned long long bits, ShuffleKind kind, int arg,
                           int width, const char *function)
{
    return warp_exchange(mask, bits, kind, arg, width, function);
}

} // namespace cudasim
