/* world.c — failure, aligned memory, bound dimensions and sizes.
 *
 * Every MPI call's status comes back (MPI_ERRORS_RETURN, set in start.c) to mpi_check, which
 * ends the job with one line naming the call. Ending the job is MPI_Abort: it takes every rank
 * down, so none is left waiting in a collective; where every rank knows it must leave
 * (tpcrt_fail_everywhere), each says its line and leaves through MPI_Finalize. Every failure
 * line is escaped as a whole before it is written (no control character from a path or a
 * checkpoint reaches the terminal).
 *
 * Also here: sizes computed from dimensions bound at run time (tpcrt_size, tpcrt_buffers_*),
 * checked for overflow, since --dim and the inputs' shapes can be anything.
 */
#include <mpi.h> /* first: internal.h declares tpcrt_comm after it */

#include "internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
/* In the AddressSanitizer build only: Open MPI unloads the plugins it does not select (in
 * MPI_Init) and the others (in MPI_Finalize); LeakSanitizer, which reports at exit, can then no
 * longer name their frames, and tests/lsan.supp cannot suppress the allocations they keep. So
 * nothing is ever unloaded: this definition takes the place of libdl's. */
int dlclose(void *handle);
int dlclose(void *handle)
{
    return 0;
}
#endif

/* The line goes out in one write, so lines of different ranks do not interleave. What reaches
 * the terminal is escaped once more as a whole (tpcrt_escape_text): a path or a name that a
 * caller forgot to escape still cannot send it control characters. */
static void fail_write(const char *fmt, va_list ap)
{
    enum { LINE = 4096 };
    char message[LINE], line[LINE + 64];
    vsnprintf(message, sizeof message, fmt, ap);
    int used = snprintf(line, sizeof line, "tpc: rank %d: ", tpcrt_rank());
    tpcrt_escape_text(message, false, line + used, sizeof line - (size_t)used - 1);
    strcat(line, "\n");
    fflush(stdout);
    if (write(STDERR_FILENO, line, strlen(line)) < 0) {
        /* Nothing better to do: the status still says it failed. */
    }
}

void tpcrt_fail_everywhere(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_write(fmt, ap);
    va_end(ap);
    fflush(stderr); /* every rank knows it must leave: none waits for another */
    mpi_check(MPI_Finalize());
    exit(1);
}

void tpcrt_refuse(const char *fmt, ...)
{
    char message[TPCRT_ERROR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (tpcrt_rank() == 0)
        tpcrt_fail_everywhere("%s", message);
    fflush(stdout);
    mpi_check(MPI_Finalize());
    exit(1);
}

void tpcrt_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_write(fmt, ap);
    va_end(ap);

    /* Unchecked: there is nothing left to do when these fail but exit. */
    int started = 0, finished = 0;
    MPI_Initialized(&started);
    MPI_Finalized(&finished);
    if (started && !finished)
        MPI_Abort(tpcrt_comm(), 1);
    exit(1);
}

void tpcrt_mpi_check(int status, const char *call, const char *file, int line)
{
    if (status == MPI_SUCCESS)
        return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(status, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", status);
    tpcrt_fail("%s failed at %s:%d: %s", call, file, line, text);
}

/* Large blocks (a rank's weights, its activations) are aligned to 2 MiB and offered to the
 * kernel for transparent huge pages: streaming a weight then takes a TLB miss per 2 MiB, not
 * per 4 KiB (a one-token decoder step was about 15% faster that way here). */
enum { HUGE_PAGE = 2 << 20 };

void *tpcrt_alloc(size_t bytes, const char *what)
{
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes)
        tpcrt_fail("out of memory: %s needs %zu bytes", what, bytes);
    bool huge = rounded >= 2 * (size_t)HUGE_PAGE;
    void *p = NULL;
    if (posix_memalign(&p, huge ? HUGE_PAGE : 64, rounded ? rounded : 64) != 0)
        tpcrt_fail("out of memory: %s needs %zu bytes", what, bytes);
#ifdef MADV_HUGEPAGE
    if (huge)
        madvise(p, rounded, MADV_HUGEPAGE); /* advice only: without THP it changes nothing */
#endif
    memset(p, 0, rounded);
    return p;
}

void tpcrt_free(void *p)
{
    free(p);
}

int64_t tpcrt_dim(const TpcrtDims *dims, const char *name)
{
    int i = tpcrt_dims_find(dims, name);
    if (i >= 0)
        return dims->values[i];
    tpcrt_fail("dimension '%s' is not bound: expected it from an input's shape or from --dim %s=N",
               name, name);
}

/* ---- sizes from dimensions bound at run time ------------------------------------------------- */

/* "10000000000 x 4 x 16": the factors, for the message. */
static const char *factors_string(char *buf, size_t len, int n, const int64_t *factors)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? " x " : "",
                                 (long long)factors[i]);
    return buf;
}

int64_t tpcrt_size(int n, const int64_t *factors)
{
    char text[TPCRT_ERROR_LEN];
    int64_t product = 1;
    for (int i = 0; i < n; i++)
        if (factors[i] < 0 || tpcrt_mul_overflows(product, factors[i], &product))
            tpcrt_fail("a size of %s %s: the dimensions bound at run time (--dim, the inputs' "
                       "shapes) are too large", factors_string(text, sizeof text, n, factors),
                       factors[i] < 0 ? "has a negative factor" : "does not fit in 64 bits");
    return product;
}

/* Every buffer starts on a 64-byte boundary: its elements rounded up to 16 floats. */
enum { BUFFER_ALIGN_FLOATS = 16 };

int64_t tpcrt_buffers_bytes(const int64_t *elements, int n)
{
    int64_t total = 0;
    for (int k = 0; k < n; k++) {
        int64_t rounded;
        if (elements[k] < 0)
            tpcrt_fail("activations: internal error: buffer %d has %lld elements", k,
                       (long long)elements[k]);
        if (__builtin_add_overflow(elements[k], BUFFER_ALIGN_FLOATS - 1, &rounded) ||
            __builtin_add_overflow(total, rounded / BUFFER_ALIGN_FLOATS * BUFFER_ALIGN_FLOATS,
                                   &total) ||
            total > INT64_MAX / (int64_t)sizeof(float))
            tpcrt_fail("activations: %d buffers of more than 2^63 bytes in all: the dimensions "
                       "bound at run time (--dim, the inputs' shapes) are too large", n);
    }
    return total * (int64_t)sizeof(float);
}

void tpcrt_buffers_carve(float *block, float **buf, const int64_t *elements, int n)
{
    int64_t offset = 0;
    for (int k = 0; k < n; k++) {
        buf[k] = block + offset;
        offset += (elements[k] + BUFFER_ALIGN_FLOATS - 1) / BUFFER_ALIGN_FLOATS *
                  BUFFER_ALIGN_FLOATS;
    }
}

float *tpcrt_buffers_alloc(float **buf, const int64_t *elements, int n)
{
    float *block = tpcrt_alloc((size_t)tpcrt_buffers_bytes(elements, n), "activations");
    tpcrt_buffers_carve(block, buf, elements, n);
    return block;
}

bool tpcrt_buffers_grow(float **block, float **buf, int64_t *held, const int64_t *elements, int n)
{
    bool fits = *block != NULL;
    for (int k = 0; k < n; k++)
        fits &= elements[k] <= held[k];
    if (fits)
        return false;
    tpcrt_free(*block);
    *block = tpcrt_buffers_alloc(buf, elements, n);
    memcpy(held, elements, sizeof *held * (size_t)n);
    return true;
}
