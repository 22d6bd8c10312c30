/* strmap.c — a string-keyed hash map in the arena (open addressing, linear probing, FNV-1a).
 *
 * Keys are not copied: they must live as long as the map (arena strings do). Used for scopes
 * in sema and for value names in the printer, so both stay linear in the size of the input.
 */
#include "ir.h"

#include <string.h>

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

void strmap_init(StrMap *m, Arena *arena)
{
    memset(m, 0, sizeof *m);
    m->arena = arena;
}

static StrMapEntry *find(const StrMap *m, const char *key, size_t n)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash(key, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        StrMapEntry *e = &m->entries[i];
        if (!e->key || (strlen(e->key) == n && memcmp(e->key, key, n) == 0))
            return e;
    }
}

static void grow(StrMap *m)
{
    StrMap bigger = {.arena = m->arena, .cap = m->cap ? m->cap * 2 : 64};
    bigger.entries = arena_array(m->arena, bigger.cap, sizeof *bigger.entries);
    for (size_t i = 0; i < m->cap; i++)
        if (m->entries[i].key)
            *find(&bigger, m->entries[i].key, strlen(m->entries[i].key)) = m->entries[i];
    bigger.len = m->len;
    *m = bigger;
}

void *strmap_get(const StrMap *m, const char *key)
{
    StrMapEntry *e = find(m, key, strlen(key));
    return e && e->key ? e->value : NULL;
}

void strmap_put(StrMap *m, const char *key, void *value)
{
    if ((m->len + 1) * 2 > m->cap)
        grow(m);
    StrMapEntry *e = find(m, key, strlen(key));
    if (!e->key) {
        e->key = key;
        m->len++;
    }
    e->value = value;
}
