/* arena.c — the compilation's memory: bump allocation from large chunks, freed all at once.
 *
 * Every allocation is zeroed and 16-byte aligned. Sizes are checked for overflow before any
 * arithmetic (Lua's luaM_testsize); running out of memory ends tpc with a message, so callers
 * never see NULL.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

enum { CHUNK_SIZE = 1 << 20, ALIGN = 16 };

typedef struct Chunk {
    struct Chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} Chunk;

struct Arena {
    Chunk *chunks;
    size_t bytes;
};

static _Noreturn void out_of_memory(size_t size)
{
    fprintf(stderr, "tpc: error: out of memory (asking for %zu bytes)\n", size);
    exit(1);
}

Arena *arena_new(void)
{
    Arena *arena = calloc(1, sizeof *arena);
    if (!arena)
        out_of_memory(sizeof *arena);
    return arena;
}

void arena_free(Arena *arena)
{
    if (!arena)
        return;
    for (Chunk *c = arena->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(arena);
}

void *arena_alloc(Arena *arena, size_t size)
{
    if (size > SIZE_MAX / 2)
        out_of_memory(size);
    size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    Chunk *c = arena->chunks;
    if (!c || c->size - c->used < size) {
        size_t chunk = size > CHUNK_SIZE ? size : CHUNK_SIZE;
        c = calloc(1, sizeof(Chunk) + chunk);
        if (!c)
            out_of_memory(size);
        c->size = chunk;
        c->next = arena->chunks;
        arena->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    arena->bytes += size;
    return p;
}

void *arena_array(Arena *arena, size_t count, size_t elem_size)
{
    if (elem_size && count > SIZE_MAX / 2 / elem_size)
        out_of_memory(SIZE_MAX);
    return arena_alloc(arena, count * elem_size);
}

char *arena_strndup(Arena *arena, const char *s, size_t n)
{
    char *p = arena_alloc(arena, n + 1);
    memcpy(p, s, n);
    return p;
}

char *arena_strdup(Arena *arena, const char *s)
{
    return arena_strndup(arena, s, strlen(s));
}

char *arena_printf(Arena *arena, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(arena, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

size_t arena_bytes(const Arena *arena)
{
    return arena->bytes;
}

void vec_grow(Arena *arena, void **items, int *cap, int needed, size_t elem_size)
{
    if (needed <= *cap)
        return;
    if (needed > (1 << 28))
        out_of_memory((size_t)needed * elem_size);
    int grown = *cap ? *cap * 2 : 8;
    if (grown < needed)
        grown = needed;
    void *p = arena_array(arena, (size_t)grown, elem_size);
    if (*cap)
        memcpy(p, *items, (size_t)*cap * elem_size);
    *items = p;
    *cap = grown;
}
