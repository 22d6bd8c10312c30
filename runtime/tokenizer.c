/* tokenizer.c — Hugging Face tokenizer.json: text to ids and ids to text, as the `tokenizers`
 * library (0.15) does it, so that a program given --prompt sees the ids Python would give it.
 *
 * Encoding runs HF's pipeline in its order:
 *   added tokens    matched in the raw text first (leftmost, longest), never split further
 *   normalizer      BertNormalizer, Lowercase, StripAccents, NFD, NFC, Prepend, Replace, Strip
 *   pre-tokenizer   ByteLevel (GPT-2's split), Split (the file's regex, run by PCRE2 with UTF
 *                   and UCP), BertPreTokenizer, Metaspace, Whitespace, WhitespaceSplit
 *   model           BPE (byte-level, or with <0xNN> byte fallback; merges by rank with a heap
 *                   and a cache of words), WordPiece (greedy longest match, ## continuations)
 *   post-processor  TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel
 *   then truncation and padding as the file says.
 * Decoding maps ids to tokens (added tokens first; special ones skipped on request) and runs
 * the decoders: ByteLevel, WordPiece, Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder.
 *
 * Anything else a file names is refused at load with one line "FILE: <component> ... is not
 * supported". Text is UTF-8 held as (pointer, length). Unicode facts (what BERT's clean-up
 * drops, punctuation, lower case, NFD) come from unicode_tables.c, generated from HF itself.
 * Uses libc, jansson and PCRE2 only (the fuzzer builds this file alone); running out of memory
 * prints one line and aborts, everything a file or a text can cause returns an error.
 */
#include "internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

enum {
    TOK_MAX_ID = 1 << 24,            /* ids above this are refused: no vocabulary is that big */
    TOK_MAX_ADDED = 1 << 16,         /* added tokens */
    TOK_MAX_DEPTH = 8,               /* nested Sequence components */
    TOK_CACHE_IDS = 1 << 20,         /* ids the BPE word cache holds before it is emptied */
    TOK_WORD_CACHE_LIMIT = 256,      /* bytes: longer words are not cached */
    TOK_MATCH_LIMIT = 10000000,      /* PCRE2 backtracking steps per match: no regex hangs */
};

/* ---- memory and growable buffers ------------------------------------------------------------ */

static _Noreturn void out_of_memory(void)
{
    fputs("tpc: out of memory in the tokenizer\n", stderr);
    abort();
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        out_of_memory();
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory();
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

/* Grows *p (of *cap elements of `size` bytes) to hold at least `need`. */
static void grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2 / size)
            out_of_memory();
        n *= 2;
    }
    *p = xrealloc(*p, n * size);
    *cap = n;
}

typedef struct Str {
    char *data;
    size_t len, cap;
} Str;

static void str_put(Str *s, const void *bytes, size_t n)
{
    grow((void **)&s->data, &s->cap, s->len + n + 1, 1);
    if (n)
        memcpy(s->data + s->len, bytes, n);
    s->len += n;
    s->data[s->len] = 0;
}

static void str_putc(Str *s, char c)
{
    str_put(s, &c, 1);
}

static void str_puts(Str *s, const char *text)
{
    str_put(s, text, strlen(text));
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static void str_put_cp(Str *s, uint32_t cp)
{
    char buf[4];
    str_put(s, buf, utf8_encode(cp, buf));
}

/* The code point at s[0..left) of text already checked to be valid UTF-8; returns its length. */
static size_t utf8_decode(const char *text, size_t left, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)text;
    if (s[0] < 0x80 || left < 2) {
        *cp = s[0];
        return 1;
    }
    size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
    if (n > left)
        n = left;
    uint32_t c = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++)
        c = c << 6 | (s[i] & 0x3f);
    *cp = c;
    return n;
}

/* The length of the valid UTF-8 sequence at s (at most left bytes), or the length of the
 * maximal prefix of one that is cut short or wrong, negated (Unicode's "maximal subpart", what
 * Rust's from_utf8_lossy replaces by one U+FFFD). */
static long utf8_valid_length(const unsigned char *s, size_t left)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        lo = s[0] == 0xe0 ? 0xa0 : 0x80;
        hi = s[0] == 0xed ? 0x9f : 0xbf;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        lo = s[0] == 0xf0 ? 0x90 : 0x80;
        hi = s[0] == 0xf4 ? 0x8f : 0xbf;
    } else
        return -1;
    for (size_t i = 1; i < n; i++) {
        unsigned char want_lo = i == 1 ? lo : 0x80, want_hi = i == 1 ? hi : 0xbf;
        if (i >= left || s[i] < want_lo || s[i] > want_hi)
            return -(long)i;
    }
    return (long)n;
}

/* Rust's String::from_utf8_lossy: each maximal invalid subpart becomes U+FFFD. */
static void str_put_lossy(Str *out, const char *bytes, size_t n)
{
    const unsigned char *s = (const unsigned char *)bytes;
    size_t i = 0;
    while (i < n) {
        long k = utf8_valid_length(s + i, n - i);
        if (k > 0) {
            str_put(out, s + i, (size_t)k);
            i += (size_t)k;
        } else {
            str_put(out, "\xef\xbf\xbd", 3);
            i += (size_t)-k;
        }
    }
}

/* ---- Unicode ------------------------------------------------------------------------------- */

static uint32_t range_lookup(const TpcrtUnicodeRange *r, int n, uint32_t cp)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < r[mid].first)
            hi = mid - 1;
        else if (cp > r[mid].last)
            lo = mid + 1;
        else
            return r[mid].value;
    }
    return 0;
}

static uint32_t uflags(uint32_t cp)
{
    static uint8_t ascii[128];
    static bool ready;
    if (cp < 128) {
        if (!ready) { /* a race here writes the same bytes twice: harmless */
            for (uint32_t c = 0; c < 128; c++)
                ascii[c] = (uint8_t)range_lookup(tpcrt_unicode_flags, tpcrt_unicode_flags_count, c);
            ready = true;
        }
        return ascii[cp];
    }
    return range_lookup(tpcrt_unicode_flags, tpcrt_unicode_flags_count, cp);
}

static int ccc_of(uint32_t cp)
{
    return cp < 0x300 ? 0 : (int)range_lookup(tpcrt_unicode_ccc, tpcrt_unicode_ccc_count, cp);
}

/* The mapping of cp in a table, or NULL when cp maps to itself. */
static const uint32_t *map_lookup(const TpcrtUnicodeMap *m, int n, const uint32_t *data,
                                  uint32_t cp, int *count)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < m[mid].code)
            hi = mid - 1;
        else if (cp > m[mid].code)
            lo = mid + 1;
        else {
            *count = (int)m[mid].count;
            return data + m[mid].offset;
        }
    }
    return NULL;
}

enum { HANGUL_S = 0xac00, HANGUL_L = 0x1100, HANGUL_V = 0x1161, HANGUL_T = 0x11a7,
       HANGUL_VCOUNT = 21, HANGUL_TCOUNT = 28, HANGUL_COUNT = 11172 };

/* Appends the canonical decomposition of cp to cps (Hangul algorithmically). */
static void decompose(uint32_t cp, uint32_t **cps, size_t *n, size_t *cap)
{
    if (cp >= HANGUL_S && cp < HANGUL_S + HANGUL_COUNT) {
        uint32_t s = cp - HANGUL_S, t = s % HANGUL_TCOUNT;
        grow((void **)cps, cap, *n + 3, sizeof **cps);
        (*cps)[(*n)++] = HANGUL_L + s / (HANGUL_VCOUNT * HANGUL_TCOUNT);
        (*cps)[(*n)++] = HANGUL_V + s % (HANGUL_VCOUNT * HANGUL_TCOUNT) / HANGUL_TCOUNT;
        if (t)
            (*cps)[(*n)++] = HANGUL_T + t;
        return;
    }
    int count = 1;
    const uint32_t *d = cp < 0xc0 ? NULL
                      : map_lookup(tpcrt_unicode_nfd, tpcrt_unicode_nfd_count,
                                   tpcrt_unicode_nfd_data, cp, &count);
    grow((void **)cps, cap, *n + (size_t)count, sizeof **cps);
    if (!d)
        (*cps)[(*n)++] = cp;
    else
        for (int i = 0; i < count; i++)
            (*cps)[(*n)++] = d[i];
}

static uint32_t compose_pair(uint32_t a, uint32_t b)
{
    if (a >= HANGUL_L && a < HANGUL_L + 19 && b >= HANGUL_V && b < HANGUL_V + HANGUL_VCOUNT)
        return HANGUL_S + ((a - HANGUL_L) * HANGUL_VCOUNT + (b - HANGUL_V)) * HANGUL_TCOUNT;
    if (a >= HANGUL_S && a < HANGUL_S + HANGUL_COUNT && (a - HANGUL_S) % HANGUL_TCOUNT == 0 &&
        b > HANGUL_T && b < HANGUL_T + HANGUL_TCOUNT)
        return a + (b - HANGUL_T);
    int lo = 0, hi = tpcrt_unicode_compose_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const TpcrtUnicodePair *p = &tpcrt_unicode_compose[mid];
        if (a < p->first || (a == p->first && b < p->second))
            hi = mid - 1;
        else if (a > p->first || b > p->second)
            lo = mid + 1;
        else
            return p->composed;
    }
    return 0;
}

/* NFD (compose false) or NFC (true) of text into out: decomposition, the canonical ordering of
 * combining marks (a stable sort by class), then canonical composition. */
static void normalize_nf(const char *text, size_t len, bool compose, Str *out)
{
    uint32_t *cps = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += utf8_decode(text + i, len - i, &cp);
        decompose(cp, &cps, &n, &cap);
    }
    for (size_t i = 1; i < n; i++) { /* insertion sort within runs of non-zero classes */
        int c = ccc_of(cps[i]);
        if (c == 0)
            continue;
        size_t j = i;
        while (j > 0 && ccc_of(cps[j - 1]) > c) {
            uint32_t t = cps[j - 1];
            cps[j - 1] = cps[j];
            cps[j] = t;
            j--;
        }
    }
    if (compose && n > 0) { /* UAX #15: C joins the last starter L unless something between
                               them has class 0 or a class >= C's */
        size_t starter = ccc_of(cps[0]) == 0 ? 0 : SIZE_MAX, w = 1;
        int last_class = 0; /* of cps[w - 1] when that is not the starter */
        for (size_t i = 1; i < n; i++) {
            int c = ccc_of(cps[i]);
            bool blocked = starter == SIZE_MAX ||
                           (w - 1 != starter && (last_class == 0 || last_class >= c));
            uint32_t composed = blocked ? 0 : compose_pair(cps[starter], cps[i]);
            if (composed) {
                cps[starter] = composed;
                continue;
            }
            if (c == 0)
                starter = w;
            last_class = c;
            cps[w++] = cps[i];
        }
        n = w;
    }
    for (size_t i = 0; i < n; i++)
        str_put_cp(out, cps[i]);
    free(cps);
}

static void lowercase_cp(uint32_t cp, Str *out)
{
    if (cp < 128) {
        str_putc(out, (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
        return;
    }
    int count;
    const uint32_t *m = map_lookup(tpcrt_unicode_lower, tpcrt_unicode_lower_count,
                                   tpcrt_unicode_lower_data, cp, &count);
    if (!m)
        str_put_cp(out, cp);
    else
        for (int i = 0; i < count; i++)
            str_put_cp(out, m[i]);
}

/* ---- hash maps ------------------------------------------------------------------------------ */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a, then a final mix so low bits are good */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9u;
    return h ^ h >> 32;
}

/* Strings to int32 values; keys are kept in one pool and addressed by offset. */
typedef struct MapSlot {
    uint64_t hash;
    size_t offset;
    uint32_t len;
    int32_t value;
    bool used;
} MapSlot;

typedef struct StrMap {
    MapSlot *slots;
    size_t cap, count; /* cap is a power of two */
    Str pool;
} StrMap;

static MapSlot *strmap_slot(const StrMap *m, const char *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        MapSlot *s = &m->slots[i];
        if (!s->used || (s->hash == h && s->len == len &&
                         memcmp(m->pool.data + s->offset, key, len) == 0))
            return s;
    }
}

static int32_t strmap_get(const StrMap *m, const char *key, size_t len)
{
    if (!m->cap)
        return -1;
    MapSlot *s = strmap_slot(m, key, len, hash_bytes(key, len));
    return s->used ? s->value : -1;
}

static void strmap_grow(StrMap *m)
{
    StrMap bigger = {xcalloc(m->cap ? m->cap * 2 : 64, sizeof(MapSlot)),
                     m->cap ? m->cap * 2 : 64, m->count, m->pool};
    size_t mask = bigger.cap - 1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].used)
            continue;
        size_t k = m->slots[i].hash & mask;
        while (bigger.slots[k].used)
            k = (k + 1) & mask;
        bigger.slots[k] = m->slots[i];
    }
    free(m->slots);
    *m = bigger;
}

/* Sets key's value; returns the key's offset in the pool. */
static size_t strmap_put(StrMap *m, const char *key, size_t len, int32_t value)
{
    if ((m->count + 1) * 4 > m->cap * 3)
        strmap_grow(m);
    uint64_t h = hash_bytes(key, len);
    MapSlot *s = strmap_slot(m, key, len, h);
    if (!s->used) {
        *s = (MapSlot){h, m->pool.len, (uint32_t)len, value, true};
        str_put(&m->pool, key, len);
        m->count++;
    }
    s->value = value;
    return s->offset;
}

static void strmap_clear(StrMap *m)
{
    if (m->cap)
        memset(m->slots, 0, m->cap * sizeof(MapSlot));
    m->count = 0;
    m->pool.len = 0;
}

static void strmap_free(StrMap *m)
{
    free(m->slots);
    free(m->pool.data);
}

/* Merges: a pair of ids to its rank and the id it makes. */
typedef struct PairSlot {
    uint64_t key; /* UINT64_MAX: empty */
    int32_t rank, id;
} PairSlot;

typedef struct PairMap {
    PairSlot *slots;
    size_t cap, count;
} PairMap;

static uint64_t pair_key(int32_t a, int32_t b)
{
    return (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

static PairSlot *pairmap_slot(const PairMap *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    uint64_t h = key * 0x9e3779b97f4a7c15u;
    for (size_t i = (h ^ h >> 31) & mask;; i = (i + 1) & mask)
        if (m->slots[i].key == key || m->slots[i].key == UINT64_MAX)
            return &m->slots[i];
}

static const PairSlot *pairmap_get(const PairMap *m, int32_t a, int32_t b)
{
    if (!m->cap)
        return NULL;
    const PairSlot *s = pairmap_slot(m, pair_key(a, b));
    return s->key == UINT64_MAX ? NULL : s;
}

/* Adds a merge unless the pair has one already (HF keeps the first rank too). */
static void pairmap_put(PairMap *m, int32_t a, int32_t b, int32_t rank, int32_t id)
{
    if ((m->count + 1) * 2 > m->cap) {
        PairMap bigger = {xrealloc(NULL, (m->cap ? m->cap * 2 : 64) * sizeof(PairSlot)),
                          m->cap ? m->cap * 2 : 64, m->count};
        memset(bigger.slots, 0xff, bigger.cap * sizeof(PairSlot));
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key != UINT64_MAX)
                *pairmap_slot(&bigger, m->slots[i].key) = m->slots[i];
        free(m->slots);
        *m = bigger;
    }
    PairSlot *s = pairmap_slot(m, pair_key(a, b));
    if (s->key == UINT64_MAX) {
        *s = (PairSlot){pair_key(a, b), rank, id};
        m->count++;
    }
}

/* ---- the tokenizer's parts ------------------------------------------------------------------ */

typedef enum {
    NORM_BERT, NORM_LOWERCASE, NORM_STRIP_ACCENTS, NORM_NFD, NORM_NFC, NORM_PREPEND,
    NORM_REPLACE, NORM_STRIP,
} NormKind;

typedef struct Normalizer {
    NormKind kind;
    bool clean_text, chinese, strip_accents, lowercase; /* BertNormalizer */
    bool left, right;                                   /* Strip */
    char *pattern, *content;                            /* Replace; Prepend's text in content */
} Normalizer;

typedef enum {
    PRE_BYTE_LEVEL, PRE_SPLIT, PRE_BERT, PRE_METASPACE, PRE_WHITESPACE, PRE_WHITESPACE_SPLIT,
} PreKind;

typedef enum {
    SPLIT_ISOLATED, SPLIT_REMOVED, SPLIT_MERGED_PREVIOUS, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS,
} SplitBehavior;

typedef enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER } PrependScheme;

typedef struct PreTokenizer {
    PreKind kind;
    bool add_prefix_space; /* ByteLevel */
    bool use_regex;        /* ByteLevel: split with GPT-2's pattern first */
    SplitBehavior behavior;
    bool invert;
    pcre2_code *regex;     /* Split with a Regex pattern, ByteLevel, Whitespace */
    char *literal;         /* Split with a String pattern; Metaspace's replacement */
    PrependScheme prepend; /* Metaspace */
} PreTokenizer;

typedef enum {
    DEC_BYTE_LEVEL, DEC_WORDPIECE, DEC_METASPACE, DEC_REPLACE, DEC_BYTE_FALLBACK, DEC_FUSE,
    DEC_STRIP, DEC_BPE,
} DecKind;

typedef struct Decoder {
    DecKind kind;
    char *pattern, *content; /* Replace; WordPiece's prefix and Metaspace's replacement in
                                pattern; Strip's character and BPEDecoder's suffix in content */
    bool cleanup;            /* WordPiece */
    PrependScheme prepend;   /* Metaspace */
    int start, stop;         /* Strip */
} Decoder;

typedef struct AddedToken {
    char *content;
    size_t len;
    int32_t id;
    bool special, lstrip, rstrip, normalized;
} AddedToken;

/* One piece of the post-processor's template: a special token's ids, or the sequence. */
typedef struct TemplatePiece {
    bool sequence;
    int32_t type_id;
    int nids;
    int32_t *ids;
} TemplatePiece;

typedef enum { MODEL_BPE, MODEL_WORDPIECE } ModelKind;

typedef struct CacheEntry {
    uint32_t offset, count;
} CacheEntry;

struct TpcrtTokenizer {
    char *name;
    ModelKind model;
    StrMap vocab;      /* token -> id */
    size_t *token_off; /* id -> token: its offset in vocab.pool, length in token_len */
    uint32_t *token_len;
    size_t token_cap;  /* of token_off and token_len */
    int64_t model_ids; /* one past the model's largest id: the size of token_off, token_len */
    int64_t nids;      /* one past the largest id (model and added tokens) */
    int32_t unk_id;    /* -1 when none */
    /* BPE */
    PairMap merges;
    bool byte_fallback, fuse_unk, ignore_merges;
    char *prefix, *suffix; /* continuing_subword_prefix, end_of_word_suffix */
    int32_t byte_ids[256]; /* <0xNN> tokens, -1 when absent */
    StrMap cache;          /* word -> index into cache_entries */
    CacheEntry *cache_entries;
    size_t ncache_entries, cache_entries_cap;
    int32_t *cache_ids;
    size_t ncache_ids, cache_ids_cap;
    /* WordPiece */
    int max_chars;
    size_t longest_token; /* bytes: no longer piece of a word can be in the vocabulary */
    /* the pipeline */
    AddedToken *added;
    int nadded;
    bool any_normalized_added, any_raw_added;
    int32_t added_first[256][2]; /* first byte -> [start, end) in added, sorted by that byte */
    Normalizer *norms;
    int nnorms;
    PreTokenizer *pres;
    int npres;
    Decoder *decs;
    int ndecs;
    bool has_decoder;
    TemplatePiece *tmpl;
    int ntmpl;
    int64_t trunc_max; /* -1: no truncation */
    bool trunc_left;
    int64_t pad_fixed;  /* padding: 0 for BatchLongest, -1 for none */
    int64_t pad_multiple;
    bool pad_left;
    int32_t pad_id, pad_type_id;
    pcre2_match_data *match;
    pcre2_match_context *match_ctx;
    bool first_piece; /* during an encode: no text has reached the pre-tokenizers yet */
};

/* ---- loading -------------------------------------------------------------------------------- */

/* Errors while loading: "NAME: message". */
typedef struct Loader {
    TpcrtTokenizer *tok;
    char *err;
    size_t errlen;
} Loader;

static bool fail(Loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(Loader *L, const char *fmt, ...)
{
    char msg[TPCRT_ERROR_LEN], name[TPCRT_PATH_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(L->err, L->errlen, "%s: %s", tpcrt_escape(L->tok->name, name, sizeof name), msg);
    return false;
}

/* A string from the file as a message may show it. */
static const char *shown(const char *s, char *buf)
{
    return tpcrt_escape(s, buf, TPCRT_TEXT_LEN);
}

static const char *type_of(json_t *obj)
{
    json_t *t = json_object_get(obj, "type");
    return json_is_string(t) ? json_string_value(t) : NULL;
}

/* A string member, or NULL (absent or null: the default); a wrong type fails. */
static bool get_string(Loader *L, json_t *obj, const char *key, const char *where,
                       const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return fail(L, "%s: \"%s\" must be a string", where, key);
    *out = json_string_value(v);
    return true;
}

static bool get_bool(Loader *L, json_t *obj, const char *key, const char *where, bool dflt,
                     bool *out)
{
    json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_boolean(v))
        return fail(L, "%s: \"%s\" must be true or false", where, key);
    *out = json_is_true(v);
    return true;
}

static bool get_int(Loader *L, json_t *obj, const char *key, const char *where, int64_t dflt,
                    int64_t lo, int64_t hi, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return fail(L, "%s: \"%s\" must be an integer in [%lld, %lld]", where, key,
                    (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    return true;
}

/* HF runs its regexes with Oniguruma, whose Unicode \s is the White_Space property and whose
 * \w is its own set; PCRE2 10.42's \s (with UCP) leaves out U+0085 and its \w differs too. The
 * pattern is rewritten so PCRE2 means what Oniguruma does: \s, \S, \w, \W outside a class, \s
 * and \w inside one become the sets of unicode_tables.c (generated from HF itself); \S and \W
 * inside a class, which nothing here uses, stay PCRE2's. \Q...\E is copied as it is. */
static void put_class_ranges(Str *out, uint32_t flag)
{
    for (int i = 0; i < tpcrt_unicode_flags_count;) {
        if (!(tpcrt_unicode_flags[i].value & flag)) {
            i++;
            continue;
        }
        uint32_t first = tpcrt_unicode_flags[i].first, last = tpcrt_unicode_flags[i].last;
        for (i++; i < tpcrt_unicode_flags_count && (tpcrt_unicode_flags[i].value & flag) &&
                  tpcrt_unicode_flags[i].first == last + 1; i++)
            last = tpcrt_unicode_flags[i].last;
        char buf[40];
        snprintf(buf, sizeof buf, "\\x{%x}-\\x{%x}", (unsigned)first, (unsigned)last);
        str_puts(out, buf);
    }
}

static void oniguruma_classes(const char *p, size_t len, Str *out)
{
    static const uint32_t flags[2] = {TPCRT_U_WHITESPACE, TPCRT_U_WORD};
    bool in_class = false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < len) {
            char e = p[++i];
            if (e == 'Q') { /* literal up to \E */
                const char *end = memmem(p + i, len - i, "\\E", 2);
                size_t stop = end ? (size_t)(end - p) + 2 : len;
                str_put(out, p + i - 1, stop - (i - 1));
                i = stop - 1;
            } else if ((e == 's' || e == 'w') && in_class)
                put_class_ranges(out, flags[e == 'w']);
            else if ((e == 's' || e == 'S' || e == 'w' || e == 'W') && !in_class) {
                str_puts(out, e == 'S' || e == 'W' ? "[^" : "[");
                put_class_ranges(out, flags[e == 'w' || e == 'W']);
                str_putc(out, ']');
            } else {
                str_putc(out, '\\');
                str_putc(out, e);
            }
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = true;
            str_putc(out, c);
            if (i + 1 < len && p[i + 1] == '^')
                str_putc(out, p[++i]);
            if (i + 1 < len && p[i + 1] == ']') /* a leading ']' is literal */
                str_putc(out, p[++i]);
            continue;
        }
        if (c == '[' && in_class && i + 1 < len && p[i + 1] == ':') { /* [:alpha:] */
            const char *end = memmem(p + i, len - i, ":]", 2);
            size_t stop = end ? (size_t)(end - p) + 2 : i + 1;
            str_put(out, p + i, stop - i);
            i = stop - 1;
            continue;
        }
        if (c == ']' && in_class)
            in_class = false;
        str_putc(out, c);
    }
}

static pcre2_code *compile_regex(Loader *L, const char *pattern, size_t len, const char *where)
{
    int code;
    PCRE2_SIZE offset;
    Str rewritten = {0};
    oniguruma_classes(pattern, len, &rewritten);
    str_put(&rewritten, "", 0);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)rewritten.data, rewritten.len,
                                   PCRE2_UTF | PCRE2_UCP, &code, &offset, NULL);
    free(rewritten.data);
    if (!re) {
        PCRE2_UCHAR msg[200];
        pcre2_get_error_message(code, msg, sizeof msg);
        char buf[TPCRT_TEXT_LEN];
        fail(L, "%s: regex \"%s\" is refused by PCRE2: %s", where, shown(pattern, buf),
             (char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT (not built in): interpreted */
    return re;
}

/* A {"String": s} or {"Regex": r} pattern: the string in *literal, or the regex compiled. */
static bool get_pattern(Loader *L, json_t *obj, const char *where, char **literal,
                        pcre2_code **regex)
{
    json_t *p = json_object_get(obj, "pattern");
    json_t *s = json_object_get(p, "String"), *r = json_object_get(p, "Regex");
    if (json_is_string(s)) {
        *literal = xstrdup(json_string_value(s));
        return true;
    }
    if (json_is_string(r) && regex) {
        *regex = compile_regex(L, json_string_value(r), json_string_length(r), where);
        return *regex != NULL;
    }
    if (json_is_string(r))
        return fail(L, "%s: a Regex pattern is not supported here (only String)", where);
    return fail(L, "%s: \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}", where);
}

static bool parse_normalizer(Loader *L, json_t *n, int depth);

static Normalizer *add_norm(TpcrtTokenizer *t, NormKind kind)
{
    t->norms = xrealloc(t->norms, (size_t)(t->nnorms + 1) * sizeof *t->norms);
    Normalizer *n = &t->norms[t->nnorms++];
    *n = (Normalizer){.kind = kind};
    return n;
}

static bool parse_normalizer(Loader *L, json_t *n, int depth)
{
    TpcrtTokenizer *t = L->tok;
    const char *type = type_of(n);
    char buf[TPCRT_TEXT_LEN];
    if (!type)
        return fail(L, "normalizer: an object with a \"type\" expected");
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(n, "normalizers");
        if (!json_is_array(list))
            return fail(L, "normalizer Sequence: \"normalizers\" must be an array");
        if (depth >= TOK_MAX_DEPTH)
            return fail(L, "normalizer: Sequence nested too deep (limit is %d)", TOK_MAX_DEPTH);
        for (size_t i = 0; i < json_array_size(list); i++)
            if (!parse_normalizer(L, json_array_get(list, i), depth + 1))
                return false;
        return true;
    }
    if (strcmp(type, "BertNormalizer") == 0) {
        Normalizer *m = add_norm(t, NORM_BERT);
        json_t *sa = json_object_get(n, "strip_accents");
        if (!get_bool(L, n, "clean_text", "normalizer BertNormalizer", true, &m->clean_text) ||
            !get_bool(L, n, "handle_chinese_chars", "normalizer BertNormalizer", true,
                      &m->chinese) ||
            !get_bool(L, n, "lowercase", "normalizer BertNormalizer", true, &m->lowercase))
            return false;
        /* strip_accents null means "as lowercase" */
        (void)sa;
        return get_bool(L, n, "strip_accents", "normalizer BertNormalizer", m->lowercase,
                        &m->strip_accents);
    }
    static const struct { const char *name; NormKind kind; } simple[] = {
        {"Lowercase", NORM_LOWERCASE}, {"StripAccents", NORM_STRIP_ACCENTS},
        {"NFD", NORM_NFD}, {"NFC", NORM_NFC},
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (strcmp(type, simple[i].name) == 0) {
            add_norm(t, simple[i].kind);
            return true;
        }
    if (strcmp(type, "Prepend") == 0) {
        const char *s;
        if (!get_string(L, n, "prepend", "normalizer Prepend", &s))
            return false;
        if (!s)
            return fail(L, "normalizer Prepend: \"prepend\" expected");
        add_norm(t, NORM_PREPEND)->content = xstrdup(s);
        return true;
    }
    if (strcmp(type, "Replace") == 0) {
        const char *content;
        if (!get_string(L, n, "content", "normalizer Replace", &content))
            return false;
        Normalizer *m = add_norm(t, NORM_REPLACE);
        if (!get_pattern(L, n, "normalizer Replace", &m->pattern, NULL))
            return false;
        if (!content || !m->pattern[0])
            return fail(L, "normalizer Replace: a non-empty pattern and a \"content\" expected");
        m->content = xstrdup(content);
        return true;
    }
    if (strcmp(type, "Strip") == 0) {
        Normalizer *m = add_norm(t, NORM_STRIP);
        return get_bool(L, n, "strip_left", "normalizer Strip", true, &m->left) &&
               get_bool(L, n, "strip_right", "normalizer Strip", true, &m->right);
    }
    return fail(L, "normalizer type \"%s\" is not supported", shown(type, buf));
}

static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static PreTokenizer *add_pre(TpcrtTokenizer *t, PreKind kind)
{
    t->pres = xrealloc(t->pres, (size_t)(t->npres + 1) * sizeof *t->pres);
    PreTokenizer *p = &t->pres[t->npres++];
    *p = (PreTokenizer){.kind = kind};
    return p;
}

static bool parse_prepend_scheme(Loader *L, json_t *obj, const char *where, PrependScheme *out)
{
    const char *scheme;
    bool add;
    if (!get_bool(L, obj, "add_prefix_space", where, true, &add) ||
        !get_string(L, obj, "prepend_scheme", where, &scheme))
        return false;
    *out = add ? PREPEND_ALWAYS : PREPEND_NEVER;
    if (scheme && add) {
        if (strcmp(scheme, "always") == 0)
            *out = PREPEND_ALWAYS;
        else if (strcmp(scheme, "first") == 0)
            *out = PREPEND_FIRST;
        else if (strcmp(scheme, "never") == 0)
            *out = PREPEND_NEVER;
        else
            return fail(L, "%s: prepend_scheme must be \"always\", \"first\" or \"never\"", where);
    }
    return true;
}

static bool parse_split_behavior(Loader *L, json_t *p, SplitBehavior *out)
{
    static const char *names[] = {"Isolated", "Removed", "MergedWithPrevious", "MergedWithNext",
                                  "Contiguous"};
    const char *b;
    if (!get_string(L, p, "behavior", "pre_tokenizer Split", &b))
        return false;
    for (int i = 0; b && i < 5; i++)
        if (strcmp(b, names[i]) == 0) {
            *out = (SplitBehavior)i;
            return true;
        }
    char buf[TPCRT_TEXT_LEN];
    return fail(L, "pre_tokenizer Split: behavior \"%s\" is not supported", b ? shown(b, buf)
                                                                              : "(none)");
}

static bool parse_pre_tokenizer(Loader *L, json_t *p, int depth)
{
    TpcrtTokenizer *t = L->tok;
    const char *type = type_of(p);
    char buf[TPCRT_TEXT_LEN];
    if (!type)
        return fail(L, "pre_tokenizer: an object with a \"type\" expected");
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(p, "pretokenizers");
        if (!json_is_array(list))
            return fail(L, "pre_tokenizer Sequence: \"pretokenizers\" must be an array");
        if (depth >= TOK_MAX_DEPTH)
            return fail(L, "pre_tokenizer: Sequence nested too deep (limit is %d)",
                        TOK_MAX_DEPTH);
        for (size_t i = 0; i < json_array_size(list); i++)
            if (!parse_pre_tokenizer(L, json_array_get(list, i), depth + 1))
                return false;
        return true;
    }
    if (strcmp(type, "ByteLevel") == 0) {
        PreTokenizer *q = add_pre(t, PRE_BYTE_LEVEL);
        if (!get_bool(L, p, "add_prefix_space", "pre_tokenizer ByteLevel", true,
                      &q->add_prefix_space) ||
            !get_bool(L, p, "use_regex", "pre_tokenizer ByteLevel", true, &q->use_regex))
            return false;
        if (q->use_regex) {
            q->regex = compile_regex(L, gpt2_pattern, sizeof gpt2_pattern - 1,
                                     "pre_tokenizer ByteLevel");
            return q->regex != NULL;
        }
        return true;
    }
    if (strcmp(type, "Split") == 0) {
        PreTokenizer *q = add_pre(t, PRE_SPLIT);
        return get_pattern(L, p, "pre_tokenizer Split", &q->literal, &q->regex) &&
               parse_split_behavior(L, p, &q->behavior) &&
               get_bool(L, p, "invert", "pre_tokenizer Split", false, &q->invert);
    }
    if (strcmp(type, "BertPreTokenizer") == 0) {
        add_pre(t, PRE_BERT);
        return true;
    }
    if (strcmp(type, "WhitespaceSplit") == 0) {
        add_pre(t, PRE_WHITESPACE_SPLIT);
        return true;
    }
    if (strcmp(type, "Whitespace") == 0) {
        static const char pattern[] = "\\w+|[^\\w\\s]+";
        PreTokenizer *q = add_pre(t, PRE_WHITESPACE);
        q->invert = true; /* HF: Invert(regex) with Removed: the matches are the words */
        q->regex = compile_regex(L, pattern, sizeof pattern - 1, "pre_tokenizer Whitespace");
        return q->regex != NULL;
    }
    if (strcmp(type, "Metaspace") == 0) {
        PreTokenizer *q = add_pre(t, PRE_METASPACE);
        const char *r;
        bool split;
        if (!get_string(L, p, "replacement", "pre_tokenizer Metaspace", &r) ||
            !get_bool(L, p, "split", "pre_tokenizer Metaspace", true, &split) ||
            !parse_prepend_scheme(L, p, "pre_tokenizer Metaspace", &q->prepend))
            return false;
        if (!split)
            return fail(L, "pre_tokenizer Metaspace: \"split\": false is not supported");
        q->literal = xstrdup(r ? r : "\xe2\x96\x81");
        if (!q->literal[0])
            return fail(L, "pre_tokenizer Metaspace: an empty replacement");
        return true;
    }
    return fail(L, "pre_tokenizer type \"%s\" is not supported", shown(type, buf));
}

static Decoder *add_dec(TpcrtTokenizer *t, DecKind kind)
{
    t->decs = xrealloc(t->decs, (size_t)(t->ndecs + 1) * sizeof *t->decs);
    Decoder *d = &t->decs[t->ndecs++];
    *d = (Decoder){.kind = kind};
    return d;
}

static bool parse_decoder(Loader *L, json_t *d, int depth)
{
    TpcrtTokenizer *t = L->tok;
    const char *type = type_of(d), *s;
    char buf[TPCRT_TEXT_LEN];
    if (!type)
        return fail(L, "decoder: an object with a \"type\" expected");
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(d, "decoders");
        if (!json_is_array(list))
            return fail(L, "decoder Sequence: \"decoders\" must be an array");
        if (depth >= TOK_MAX_DEPTH)
            return fail(L, "decoder: Sequence nested too deep (limit is %d)", TOK_MAX_DEPTH);
        for (size_t i = 0; i < json_array_size(list); i++)
            if (!parse_decoder(L, json_array_get(list, i), depth + 1))
                return false;
        return true;
    }
    if (strcmp(type, "ByteLevel") == 0) {
        add_dec(t, DEC_BYTE_LEVEL);
        return true;
    }
    if (strcmp(type, "ByteFallback") == 0) {
        add_dec(t, DEC_BYTE_FALLBACK);
        return true;
    }
    if (strcmp(type, "Fuse") == 0) {
        add_dec(t, DEC_FUSE);
        return true;
    }
    if (strcmp(type, "WordPiece") == 0) {
        Decoder *e = add_dec(t, DEC_WORDPIECE);
        if (!get_string(L, d, "prefix", "decoder WordPiece", &s) ||
            !get_bool(L, d, "cleanup", "decoder WordPiece", true, &e->cleanup))
            return false;
        e->pattern = xstrdup(s ? s : "##");
        return true;
    }
    if (strcmp(type, "Metaspace") == 0) {
        Decoder *e = add_dec(t, DEC_METASPACE);
        if (!get_string(L, d, "replacement", "decoder Metaspace", &s) ||
            !parse_prepend_scheme(L, d, "decoder Metaspace", &e->prepend))
            return false;
        e->pattern = xstrdup(s ? s : "\xe2\x96\x81");
        if (!e->pattern[0])
            return fail(L, "decoder Metaspace: an empty replacement");
        return true;
    }
    if (strcmp(type, "Replace") == 0) {
        Decoder *e = add_dec(t, DEC_REPLACE);
        if (!get_string(L, d, "content", "decoder Replace", &s) ||
            !get_pattern(L, d, "decoder Replace", &e->pattern, NULL))
            return false;
        if (!s || !e->pattern[0])
            return fail(L, "decoder Replace: a non-empty pattern and a \"content\" expected");
        e->content = xstrdup(s);
        return true;
    }
    if (strcmp(type, "Strip") == 0) {
        Decoder *e = add_dec(t, DEC_STRIP);
        int64_t start, stop;
        if (!get_string(L, d, "content", "decoder Strip", &s) ||
            !get_int(L, d, "start", "decoder Strip", 0, 0, 1 << 20, &start) ||
            !get_int(L, d, "stop", "decoder Strip", 0, 0, 1 << 20, &stop))
            return false;
        uint32_t cp;
        if (!s || !s[0] || utf8_decode(s, strlen(s), &cp) != strlen(s))
            return fail(L, "decoder Strip: \"content\" must be one character");
        e->content = xstrdup(s);
        e->start = (int)start;
        e->stop = (int)stop;
        return true;
    }
    if (strcmp(type, "BPEDecoder") == 0) {
        Decoder *e = add_dec(t, DEC_BPE);
        if (!get_string(L, d, "suffix", "decoder BPEDecoder", &s))
            return false;
        e->content = xstrdup(s ? s : "</w>");
        return true;
    }
    return fail(L, "decoder type \"%s\" is not supported", shown(type, buf));
}

static int32_t token_id(const TpcrtTokenizer *t, const char *token)
{
    for (int i = 0; i < t->nadded; i++)
        if (strcmp(t->added[i].content, token) == 0)
            return t->added[i].id;
    return strmap_get(&t->vocab, token, strlen(token));
}

static void add_template_piece(TpcrtTokenizer *t, bool sequence, int64_t type_id,
                               const int32_t *ids, int nids)
{
    t->tmpl = xrealloc(t->tmpl, (size_t)(t->ntmpl + 1) * sizeof *t->tmpl);
    TemplatePiece *p = &t->tmpl[t->ntmpl++];
    *p = (TemplatePiece){sequence, (int32_t)type_id, nids, NULL};
    if (nids) {
        p->ids = xrealloc(NULL, (size_t)nids * sizeof *ids);
        memcpy(p->ids, ids, (size_t)nids * sizeof *ids);
    }
}

/* BertProcessing / RobertaProcessing: [cls] A [sep], each given as ["token", id]. */
static bool parse_cls_sep(Loader *L, json_t *p, const char *where)
{
    json_t *cls = json_object_get(p, "cls"), *sep = json_object_get(p, "sep");
    json_t *ids[2] = {json_array_get(cls, 1), json_array_get(sep, 1)};
    for (int i = 0; i < 2; i++)
        if (!json_is_integer(ids[i]) || json_integer_value(ids[i]) < 0 ||
            json_integer_value(ids[i]) >= TOK_MAX_ID)
            return fail(L, "%s: \"%s\" must be [token, id] with an id in [0, %d)", where,
                        i ? "sep" : "cls", TOK_MAX_ID);
    int32_t c = (int32_t)json_integer_value(ids[0]), s = (int32_t)json_integer_value(ids[1]);
    add_template_piece(L->tok, false, 0, &c, 1);
    add_template_piece(L->tok, true, 0, NULL, 0);
    add_template_piece(L->tok, false, 0, &s, 1);
    return true;
}

static bool parse_template(Loader *L, json_t *p)
{
    const char *where = "post_processor TemplateProcessing";
    json_t *single = json_object_get(p, "single"), *specials = json_object_get(p, "special_tokens");
    if (!json_is_array(single))
        return fail(L, "%s: \"single\" must be an array", where);
    int sequences = 0;
    for (size_t i = 0; i < json_array_size(single); i++) {
        json_t *piece = json_array_get(single, i);
        json_t *seq = json_object_get(piece, "Sequence"), *sp = json_object_get(piece,
                                                                               "SpecialToken");
        json_t *body = seq ? seq : sp;
        json_t *id = json_object_get(body, "id"), *type_id = json_object_get(body, "type_id");
        if (!json_is_string(id) || !json_is_integer(type_id) || json_integer_value(type_id) < 0 ||
            json_integer_value(type_id) > INT32_MAX)
            return fail(L, "%s: piece %zu of \"single\" must be {\"Sequence\" or "
                        "\"SpecialToken\": {\"id\": string, \"type_id\": integer}}", where, i);
        if (seq) {
            if (strcmp(json_string_value(id), "A") != 0)
                return fail(L, "%s: \"single\" may hold sequence A only", where);
            add_template_piece(L->tok, true, json_integer_value(type_id), NULL, 0);
            sequences++;
            continue;
        }
        json_t *entry = json_object_get(specials, json_string_value(id));
        json_t *ids = json_object_get(entry, "ids");
        char buf[TPCRT_TEXT_LEN];
        if (!json_is_array(ids))
            return fail(L, "%s: special token \"%s\" is not in \"special_tokens\"", where,
                        shown(json_string_value(id), buf));
        int n = (int)json_array_size(ids);
        int32_t *values = xcalloc((size_t)n, sizeof *values);
        for (int k = 0; k < n; k++) {
            json_t *v = json_array_get(ids, (size_t)k);
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) >= TOK_MAX_ID) {
                free(values);
                return fail(L, "%s: special token \"%s\": ids must be in [0, %d)", where,
                            shown(json_string_value(id), buf), TOK_MAX_ID);
            }
            values[k] = (int32_t)json_integer_value(v);
        }
        add_template_piece(L->tok, false, json_integer_value(type_id), values, n);
        free(values);
    }
    if (sequences != 1)
        return fail(L, "%s: \"single\" must hold sequence A exactly once", where);
    return true;
}

static bool parse_post_processor(Loader *L, json_t *p, int depth)
{
    const char *type = type_of(p);
    char buf[TPCRT_TEXT_LEN];
    if (!type)
        return fail(L, "post_processor: an object with a \"type\" expected");
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(p, "processors");
        if (!json_is_array(list))
            return fail(L, "post_processor Sequence: \"processors\" must be an array");
        if (depth >= TOK_MAX_DEPTH)
            return fail(L, "post_processor: Sequence nested too deep (limit is %d)",
                        TOK_MAX_DEPTH);
        for (size_t i = 0; i < json_array_size(list); i++)
            if (!parse_post_processor(L, json_array_get(list, i), depth + 1))
                return false;
        return true;
    }
    if (strcmp(type, "ByteLevel") == 0) /* offsets only: the ids are unchanged */
        return true;
    if (L->tok->ntmpl)
        return fail(L, "post_processor: more than one template is not supported");
    if (strcmp(type, "TemplateProcessing") == 0)
        return parse_template(L, p);
    if (strcmp(type, "BertProcessing") == 0)
        return parse_cls_sep(L, p, "post_processor BertProcessing");
    if (strcmp(type, "RobertaProcessing") == 0)
        return parse_cls_sep(L, p, "post_processor RobertaProcessing");
    return fail(L, "post_processor type \"%s\" is not supported", shown(type, buf));
}

static bool parse_added_tokens(Loader *L, json_t *list)
{
    TpcrtTokenizer *t = L->tok;
    if (!list || json_is_null(list))
        return true;
    if (!json_is_array(list))
        return fail(L, "\"added_tokens\" must be an array");
    if (json_array_size(list) > TOK_MAX_ADDED)
        return fail(L, "too many added tokens (limit is %d)", TOK_MAX_ADDED);
    t->added = xcalloc(json_array_size(list), sizeof *t->added);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *a = json_array_get(list, i);
        json_t *content = json_object_get(a, "content"), *id = json_object_get(a, "id");
        AddedToken *k = &t->added[t->nadded];
        bool single_word;
        if (!json_is_string(content) || json_string_length(content) == 0 ||
            !json_is_integer(id) || json_integer_value(id) < 0 ||
            json_integer_value(id) >= TOK_MAX_ID)
            return fail(L, "added token %zu: a non-empty \"content\" and an \"id\" in [0, %d) "
                        "expected", i, TOK_MAX_ID);
        if (!get_bool(L, a, "special", "added token", false, &k->special) ||
            !get_bool(L, a, "lstrip", "added token", false, &k->lstrip) ||
            !get_bool(L, a, "rstrip", "added token", false, &k->rstrip) ||
            !get_bool(L, a, "normalized", "added token", !k->special, &k->normalized) ||
            !get_bool(L, a, "single_word", "added token", false, &single_word))
            return false;
        char buf[TPCRT_TEXT_LEN];
        if (single_word)
            return fail(L, "added token \"%s\": \"single_word\": true is not supported",
                        shown(json_string_value(content), buf));
        k->content = xrealloc(NULL, json_string_length(content) + 1);
        memcpy(k->content, json_string_value(content), json_string_length(content) + 1);
        k->len = json_string_length(content);
        k->id = (int32_t)json_integer_value(id);
        t->any_normalized_added |= k->normalized;
        t->nadded++;
    }
    return true;
}

static int compare_added(const void *a, const void *b)
{
    const AddedToken *x = a, *y = b;
    unsigned char cx = (unsigned char)x->content[0], cy = (unsigned char)y->content[0];
    if (cx != cy)
        return cx < cy ? -1 : 1;
    return x->len > y->len ? -1 : x->len < y->len; /* longest first: leftmost-longest */
}

/* Sorted by first byte (longest first within one), with an index per first byte. */
static void index_added(TpcrtTokenizer *t)
{
    if (t->nadded > 1) /* tokens with one content have one id (assign_added_ids) */
        qsort(t->added, (size_t)t->nadded, sizeof *t->added, compare_added);
    memset(t->added_first, 0, sizeof t->added_first);
    for (int i = 0; i < t->nadded; i++) {
        unsigned char c = (unsigned char)t->added[i].content[0];
        if (i == 0 || (unsigned char)t->added[i - 1].content[0] != c)
            t->added_first[c][0] = i;
        t->added_first[c][1] = i + 1;
    }
}

static bool set_token(Loader *L, const char *token, size_t len, int64_t id)
{
    TpcrtTokenizer *t = L->tok;
    if (id < 0 || id >= TOK_MAX_ID) {
        char buf[TPCRT_TEXT_LEN];
        return fail(L, "model: the id of \"%s\" is %lld, outside [0, %d)", shown(token, buf),
                    (long long)id, TOK_MAX_ID);
    }
    size_t offset = strmap_put(&t->vocab, token, len, (int32_t)id);
    if (len > t->longest_token)
        t->longest_token = len;
    if (id >= t->nids) {
        size_t n = (size_t)id + 1, cap = t->token_cap;
        grow((void **)&t->token_off, &t->token_cap, n, sizeof *t->token_off);
        grow((void **)&t->token_len, &cap, n, sizeof *t->token_len);
        for (size_t i = (size_t)t->nids; i < n; i++)
            t->token_len[i] = UINT32_MAX; /* no token */
        t->nids = (int64_t)n;
    }
    t->token_off[id] = offset;
    t->token_len[id] = (uint32_t)len;
    return true;
}

static bool parse_vocab(Loader *L, json_t *model)
{
    json_t *vocab = json_object_get(model, "vocab");
    const char *key;
    json_t *value;
    if (!json_is_object(vocab))
        return fail(L, "model: \"vocab\" must be an object of tokens to ids");
    json_object_foreach(vocab, key, value) {
        if (!json_is_integer(value)) {
            char buf[TPCRT_TEXT_LEN];
            return fail(L, "model: the id of \"%s\" is not an integer", shown(key, buf));
        }
        if (!set_token(L, key, strlen(key), json_integer_value(value)))
            return false;
    }
    return true;
}

/* One merge: "a b", or ["a", "b"] as newer files write it. */
static bool parse_merge(Loader *L, json_t *m, size_t rank)
{
    TpcrtTokenizer *t = L->tok;
    const char *a, *b;
    size_t alen, blen;
    char buf[TPCRT_TEXT_LEN];
    if (json_is_string(m)) {
        a = json_string_value(m);
        const char *space = strchr(a, ' ');
        if (!space || strchr(space + 1, ' '))
            return fail(L, "model: merge %zu \"%s\" is not two tokens separated by a space",
                        rank, shown(a, buf));
        alen = (size_t)(space - a);
        b = space + 1;
        blen = strlen(b);
    } else if (json_is_array(m) && json_array_size(m) == 2 &&
               json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
        a = json_string_value(json_array_get(m, 0));
        alen = json_string_length(json_array_get(m, 0));
        b = json_string_value(json_array_get(m, 1));
        blen = json_string_length(json_array_get(m, 1));
    } else
        return fail(L, "model: merge %zu must be \"a b\" or [\"a\", \"b\"]", rank);
    int32_t ida = strmap_get(&t->vocab, a, alen), idb = strmap_get(&t->vocab, b, blen);
    if (ida < 0 || idb < 0) {
        Str tok = {0};
        str_put(&tok, ida < 0 ? a : b, ida < 0 ? alen : blen);
        fail(L, "model: merge %zu names \"%s\", which is not in the vocabulary", rank,
             shown(tok.data, buf));
        free(tok.data);
        return false;
    }
    /* the merged token: b loses the continuing-subword prefix (HF) */
    size_t plen = t->prefix ? strlen(t->prefix) : 0;
    if (plen && blen >= plen && memcmp(b, t->prefix, plen) == 0) {
        b += plen;
        blen -= plen;
    }
    Str joined = {0};
    str_put(&joined, a, alen);
    str_put(&joined, b, blen);
    int32_t id = strmap_get(&t->vocab, joined.data, joined.len);
    if (id < 0) {
        fail(L, "model: merge %zu makes \"%s\", which is not in the vocabulary", rank,
             shown(joined.data, buf));
        free(joined.data);
        return false;
    }
    free(joined.data);
    pairmap_put(&t->merges, ida, idb, (int32_t)rank, id);
    return true;
}

static bool parse_bpe(Loader *L, json_t *model)
{
    TpcrtTokenizer *t = L->tok;
    const char *unk, *prefix, *suffix;
    json_t *dropout = json_object_get(model, "dropout");
    if (dropout && !json_is_null(dropout))
        return fail(L, "model BPE: \"dropout\" is not supported (it makes encoding random)");
    if (!get_string(L, model, "unk_token", "model BPE", &unk) ||
        !get_string(L, model, "continuing_subword_prefix", "model BPE", &prefix) ||
        !get_string(L, model, "end_of_word_suffix", "model BPE", &suffix) ||
        !get_bool(L, model, "fuse_unk", "model BPE", false, &t->fuse_unk) ||
        !get_bool(L, model, "byte_fallback", "model BPE", false, &t->byte_fallback) ||
        !get_bool(L, model, "ignore_merges", "model BPE", false, &t->ignore_merges))
        return false;
    t->prefix = prefix && prefix[0] ? xstrdup(prefix) : NULL;
    t->suffix = suffix && suffix[0] ? xstrdup(suffix) : NULL;
    if (!parse_vocab(L, model))
        return false;
    t->unk_id = unk ? strmap_get(&t->vocab, unk, strlen(unk)) : -1;
    char buf[TPCRT_TEXT_LEN];
    if (unk && t->unk_id < 0)
        return fail(L, "model BPE: unk_token \"%s\" is not in the vocabulary", shown(unk, buf));
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_ids[b] = strmap_get(&t->vocab, name, 6);
    }
    json_t *merges = json_object_get(model, "merges");
    if (!json_is_array(merges))
        return fail(L, "model BPE: \"merges\" must be an array");
    for (size_t i = 0; i < json_array_size(merges); i++)
        if (!parse_merge(L, json_array_get(merges, i), i))
            return false;
    return true;
}

static bool parse_wordpiece(Loader *L, json_t *model)
{
    TpcrtTokenizer *t = L->tok;
    const char *unk, *prefix;
    int64_t max_chars;
    char buf[TPCRT_TEXT_LEN];
    if (!get_string(L, model, "unk_token", "model WordPiece", &unk) ||
        !get_string(L, model, "continuing_subword_prefix", "model WordPiece", &prefix) ||
        !get_int(L, model, "max_input_chars_per_word", "model WordPiece", 100, 0, INT32_MAX,
                 &max_chars) ||
        !parse_vocab(L, model))
        return false;
    t->prefix = xstrdup(prefix ? prefix : "##");
    t->max_chars = (int)max_chars;
    if (!unk)
        unk = "[UNK]";
    t->unk_id = strmap_get(&t->vocab, unk, strlen(unk));
    if (t->unk_id < 0)
        return fail(L, "model WordPiece: unk_token \"%s\" is not in the vocabulary",
                    shown(unk, buf));
    return true;
}

static bool parse_model(Loader *L, json_t *model)
{
    const char *type = type_of(model);
    char buf[TPCRT_TEXT_LEN];
    if (!json_is_object(model))
        return fail(L, "\"model\" expected (an object with \"type\" and \"vocab\")");
    if (!type) { /* old files leave the type out; their fields tell */
        if (json_object_get(model, "merges"))
            type = "BPE";
        else if (json_object_get(model, "continuing_subword_prefix"))
            type = "WordPiece";
        else
            return fail(L, "model: \"type\" expected");
    }
    if (strcmp(type, "BPE") == 0) {
        L->tok->model = MODEL_BPE;
        return parse_bpe(L, model);
    }
    if (strcmp(type, "WordPiece") == 0) {
        L->tok->model = MODEL_WORDPIECE;
        return parse_wordpiece(L, model);
    }
    return fail(L, "model type \"%s\" is not supported", shown(type, buf));
}

static bool parse_truncation(Loader *L, json_t *tr)
{
    TpcrtTokenizer *t = L->tok;
    const char *dir;
    t->trunc_max = -1;
    if (!tr || json_is_null(tr))
        return true;
    if (!json_is_object(tr))
        return fail(L, "\"truncation\" must be an object or null");
    if (!get_int(L, tr, "max_length", "truncation", 512, 0, INT32_MAX, &t->trunc_max) ||
        !get_string(L, tr, "direction", "truncation", &dir))
        return false;
    if (dir && strcmp(dir, "Left") != 0 && strcmp(dir, "Right") != 0)
        return fail(L, "truncation: direction must be \"Left\" or \"Right\"");
    t->trunc_left = dir && strcmp(dir, "Left") == 0;
    return true;
}

static bool parse_padding(Loader *L, json_t *p)
{
    TpcrtTokenizer *t = L->tok;
    const char *dir;
    int64_t id, type_id;
    t->pad_fixed = -1;
    if (!p || json_is_null(p))
        return true;
    if (!json_is_object(p))
        return fail(L, "\"padding\" must be an object or null");
    json_t *strategy = json_object_get(p, "strategy"), *fixed = json_object_get(strategy, "Fixed");
    if (json_is_string(strategy) && strcmp(json_string_value(strategy), "BatchLongest") == 0)
        t->pad_fixed = 0;
    else if (json_is_integer(fixed) && json_integer_value(fixed) >= 0 &&
             json_integer_value(fixed) <= INT32_MAX)
        t->pad_fixed = json_integer_value(fixed);
    else
        return fail(L, "padding: strategy must be \"BatchLongest\" or {\"Fixed\": n}");
    if (!get_int(L, p, "pad_id", "padding", 0, 0, TOK_MAX_ID - 1, &id) ||
        !get_int(L, p, "pad_type_id", "padding", 0, 0, INT32_MAX, &type_id) ||
        !get_int(L, p, "pad_to_multiple_of", "padding", 0, 0, 1 << 20, &t->pad_multiple) ||
        !get_string(L, p, "direction", "padding", &dir))
        return false;
    if (dir && strcmp(dir, "Left") != 0 && strcmp(dir, "Right") != 0)
        return fail(L, "padding: direction must be \"Left\" or \"Right\"");
    t->pad_left = dir && strcmp(dir, "Left") == 0;
    t->pad_id = (int32_t)id;
    t->pad_type_id = (int32_t)type_id;
    return true;
}

/* HF (0.15) does not take an added token's id from the file: a token of the model's vocabulary
 * keeps its id there; any other gets one past the largest id given so far, or the vocabulary's
 * size. Files HF writes agree; a file whose ids have gaps gets HF's ids, as Python would. */
static void assign_added_ids(TpcrtTokenizer *t)
{
    int64_t size = (int64_t)t->vocab.count, max = -1;
    for (int i = 0; i < t->nadded; i++) {
        AddedToken *a = &t->added[i];
        int32_t id = -1;
        for (int k = 0; k < i && id < 0; k++)
            if (t->added[k].len == a->len && memcmp(t->added[k].content, a->content, a->len) == 0)
                id = t->added[k].id;
        if (id < 0)
            id = strmap_get(&t->vocab, a->content, a->len);
        if (id < 0)
            id = (int32_t)(max < 0 ? size : max >= size || size == 0 ? max + 1 : size);
        a->id = id;
        if (id > max)
            max = id;
    }
}

static bool parse_tokenizer(Loader *L, json_t *root)
{
    TpcrtTokenizer *t = L->tok;
    if (!json_is_object(root))
        return fail(L, "a JSON object expected at the top");
    json_t *model = json_object_get(root, "model");
    if (!model)
        return fail(L, "\"model\" expected (an object with \"type\" and \"vocab\")");
    if (!parse_added_tokens(L, json_object_get(root, "added_tokens")) || !parse_model(L, model))
        return false;
    t->model_ids = t->nids;
    assign_added_ids(t);
    for (int i = 0; i < t->nadded; i++) { /* added tokens may sit outside the model's vocabulary */
        if (t->added[i].id >= t->nids)
            t->nids = t->added[i].id + 1;
        t->any_raw_added |= !t->added[i].normalized;
    }
    index_added(t);
    json_t *parts[4] = {json_object_get(root, "normalizer"), json_object_get(root, "pre_tokenizer"),
                        json_object_get(root, "post_processor"), json_object_get(root, "decoder")};
    bool (*parsers[4])(Loader *, json_t *, int) = {parse_normalizer, parse_pre_tokenizer,
                                                   parse_post_processor, parse_decoder};
    for (int i = 0; i < 4; i++)
        if (parts[i] && !json_is_null(parts[i]) && !parsers[i](L, parts[i], 0))
            return false;
    t->has_decoder = parts[3] && !json_is_null(parts[3]);
    return parse_truncation(L, json_object_get(root, "truncation")) &&
           parse_padding(L, json_object_get(root, "padding"));
}

TpcrtTokenizer *tpcrt_tokenizer_parse(const void *bytes, size_t size, const char *name, char *err,
                                      size_t errlen)
{
    TpcrtTokenizer *t = xcalloc(1, sizeof *t);
    t->name = xstrdup(name);
    t->unk_id = t->pad_id = -1;
    t->trunc_max = t->pad_fixed = -1;
    Loader L = {t, err, errlen};
    json_error_t jerr;
    json_t *root = json_loadb(bytes, size, JSON_REJECT_DUPLICATES, &jerr);
    bool ok;
    if (!root)
        ok = fail(&L, "not valid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                  jerr.text);
    else
        ok = parse_tokenizer(&L, root);
    json_decref(root);
    if (!ok) {
        tpcrt_tokenizer_free(t);
        return NULL;
    }
    t->match = pcre2_match_data_create(16, NULL);
    t->match_ctx = pcre2_match_context_create(NULL);
    if (!t->match || !t->match_ctx)
        out_of_memory();
    pcre2_set_match_limit(t->match_ctx, TOK_MATCH_LIMIT);
    pcre2_set_depth_limit(t->match_ctx, TOK_MATCH_LIMIT);
    return t;
}

TpcrtTokenizer *tpcrt_tokenizer_load(const char *path, char *err, size_t errlen)
{
    char shown_path[TPCRT_PATH_LEN];
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", tpcrt_escape(path, shown_path,
                                                                  sizeof shown_path),
                 strerror(errno));
        return NULL;
    }
    Str bytes = {0};
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        str_put(&bytes, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(bytes.data);
        snprintf(err, errlen, "%s: cannot read", tpcrt_escape(path, shown_path,
                                                              sizeof shown_path));
        return NULL;
    }
    TpcrtTokenizer *t = tpcrt_tokenizer_parse(bytes.data ? bytes.data : "", bytes.len, path, err,
                                              errlen);
    free(bytes.data);
    return t;
}

void tpcrt_tokenizer_free(TpcrtTokenizer *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nnorms; i++) {
        free(t->norms[i].pattern);
        free(t->norms[i].content);
    }
    for (int i = 0; i < t->npres; i++) {
        pcre2_code_free(t->pres[i].regex);
        free(t->pres[i].literal);
    }
    for (int i = 0; i < t->ndecs; i++) {
        free(t->decs[i].pattern);
        free(t->decs[i].content);
    }
    for (int i = 0; i < t->nadded; i++)
        free(t->added[i].content);
    for (int i = 0; i < t->ntmpl; i++)
        free(t->tmpl[i].ids);
    free(t->norms);
    free(t->pres);
    free(t->decs);
    free(t->added);
    free(t->tmpl);
    strmap_free(&t->vocab);
    strmap_free(&t->cache);
    free(t->cache_entries);
    free(t->cache_ids);
    free(t->merges.slots);
    free(t->token_off);
    free(t->token_len);
    free(t->prefix);
    free(t->suffix);
    free(t->name);
    pcre2_match_data_free(t->match);
    pcre2_match_context_free(t->match_ctx);
    free(t);
}

int32_t tpcrt_tokenizer_pad_id(const TpcrtTokenizer *t)
{
    if (t->pad_fixed >= 0)
        return t->pad_id;
    static const char *names[] = {"[PAD]", "<pad>", "<|endoftext|>"};
    for (int i = 0; i < 3; i++) {
        int32_t id = token_id(t, names[i]);
        if (id >= 0)
            return id;
    }
    return -1;
}

int64_t tpcrt_tokenizer_vocab_size(const TpcrtTokenizer *t)
{
    return t->nids;
}

/* ---- pieces: a string cut into spans -------------------------------------------------------- */

typedef struct Span {
    size_t offset, len;
} Span;

typedef struct Pieces {
    Str text;
    Span *spans;
    size_t n, cap;
} Pieces;

static void pieces_add(Pieces *p, const char *s, size_t len)
{
    if (len == 0)
        return;
    grow((void **)&p->spans, &p->cap, p->n + 1, sizeof *p->spans);
    p->spans[p->n++] = (Span){p->text.len, len};
    str_put(&p->text, s, len);
}

/* As pieces_add, but an empty piece is kept (a token, when decoding). */
static void pieces_add_empty(Pieces *p, const char *s, size_t len)
{
    grow((void **)&p->spans, &p->cap, p->n + 1, sizeof *p->spans);
    p->spans[p->n++] = (Span){p->text.len, len};
    str_put(&p->text, s, len);
}

static void pieces_free(Pieces *p)
{
    free(p->text.data);
    free(p->spans);
}

/* A cut of a piece: [start, end) and whether it matched the pattern. */
typedef struct Cut {
    size_t start, end;
    bool match;
} Cut;

typedef struct Cuts {
    Cut *v;
    size_t n, cap;
} Cuts;

static void cuts_add(Cuts *c, size_t start, size_t end, bool match)
{
    grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v);
    c->v[c->n++] = (Cut){start, end, match};
}

/* HF's Pattern::find_matches: the text as alternating gaps and matches. */
static bool find_matches(TpcrtTokenizer *t, const PreTokenizer *p, const char *s, size_t len,
                         Cuts *cuts, char *err, size_t errlen)
{
    size_t prev = 0, at = 0;
    cuts->n = 0;
    while (at <= len) {
        size_t ms, me;
        if (p->regex) {
            int rc = pcre2_match(p->regex, (PCRE2_SPTR)s, len, at, PCRE2_NO_UTF_CHECK, t->match,
                                 t->match_ctx);
            if (rc == PCRE2_ERROR_NOMATCH)
                break;
            if (rc < 0) {
                PCRE2_UCHAR msg[200];
                pcre2_get_error_message(rc, msg, sizeof msg);
                return tpcrt_error(err, errlen, "pre_tokenizer regex: %s", (char *)msg);
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->match);
            ms = ov[0];
            me = ov[1];
        } else {
            size_t plen = strlen(p->literal);
            const char *hit = memmem(s + at, len - at, p->literal, plen);
            if (!hit)
                break;
            ms = (size_t)(hit - s);
            me = ms + plen;
        }
        if (me == ms) { /* an empty match: step over one character, as Rust's find_iter does */
            uint32_t cp;
            at = ms < len ? ms + utf8_decode(s + ms, len - ms, &cp) : len + 1;
            continue;
        }
        if (prev != ms)
            cuts_add(cuts, prev, ms, false);
        cuts_add(cuts, ms, me, true);
        prev = at = me;
    }
    if (prev != len)
        cuts_add(cuts, prev, len, false);
    if (p->invert)
        for (size_t i = 0; i < cuts->n; i++)
            cuts->v[i].match = !cuts->v[i].match;
    return true;
}

/* HF's SplitDelimiterBehavior applied to the cuts of one piece. */
static void split_cuts(const Cuts *c, SplitBehavior b, const char *s, Pieces *out)
{
    size_t n = c->n;
    Cut *v = xrealloc(NULL, (n ? n : 1) * sizeof *v);
    size_t m = 0;
    bool previous = false;
    switch (b) {
    case SPLIT_ISOLATED:
        memcpy(v, c->v, n * sizeof *v);
        m = n;
        break;
    case SPLIT_REMOVED:
        for (size_t i = 0; i < n; i++)
            if (!c->v[i].match)
                v[m++] = c->v[i];
        break;
    case SPLIT_MERGED_PREVIOUS:
        for (size_t i = 0; i < n; i++) {
            if (c->v[i].match && !previous && m > 0)
                v[m - 1].end = c->v[i].end;
            else
                v[m++] = c->v[i];
            previous = c->v[i].match;
        }
        break;
    case SPLIT_MERGED_NEXT: /* HF folds from the right */
        for (size_t i = n; i-- > 0;) {
            if (c->v[i].match && !previous && m > 0)
                v[m - 1].start = c->v[i].start;
            else
                v[m++] = c->v[i];
            previous = c->v[i].match;
        }
        for (size_t i = 0; i < m / 2; i++) {
            Cut tmp = v[i];
            v[i] = v[m - 1 - i];
            v[m - 1 - i] = tmp;
        }
        break;
    case SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < n; i++) {
            if (c->v[i].match == previous && m > 0)
                v[m - 1].end = c->v[i].end;
            else
                v[m++] = c->v[i];
            previous = c->v[i].match;
        }
        break;
    }
    for (size_t i = 0; i < m; i++)
        pieces_add(out, s + v[i].start, v[i].end - v[i].start);
    free(v);
}

/* GPT-2's bytes_to_unicode: every byte as a printable character, in UTF-8. */
static const char *byte_char(unsigned char b, size_t *len)
{
    static char table[256][2];
    static uint8_t lens[256];
    static bool ready;
    if (!ready) {
        int next = 256;
        for (int c = 0; c < 256; c++) {
            bool printable = (c >= '!' && c <= '~') || (c >= 0xa1 && c <= 0xac) || c >= 0xae;
            uint32_t cp = printable ? (uint32_t)c : (uint32_t)next++;
            char buf[4];
            lens[c] = (uint8_t)utf8_encode(cp, buf);
            memcpy(table[c], buf, lens[c]);
        }
        ready = true;
    }
    *len = lens[b];
    return table[b];
}

/* The byte a ByteLevel character stands for, or -1. */
static int char_byte(uint32_t cp)
{
    if ((cp >= '!' && cp <= '~') || (cp >= 0xa1 && cp <= 0xac) || (cp >= 0xae && cp <= 0xff))
        return (int)cp;
    if (cp < 256 || cp >= 256 + 68)
        return -1;
    int k = (int)cp - 256; /* the k-th byte that is not printable, in order */
    for (int c = 0; c < 256; c++) {
        bool printable = (c >= '!' && c <= '~') || (c >= 0xa1 && c <= 0xac) || c >= 0xae;
        if (!printable && k-- == 0)
            return c;
    }
    return -1;
}

static bool is_ws(uint32_t cp)
{
    return uflags(cp) & TPCRT_U_WHITESPACE;
}

/* Applies one pre-tokenizer to every piece of in, into out. */
static bool pre_tokenize(TpcrtTokenizer *t, const PreTokenizer *p, const Pieces *in,
                         Pieces *out, char *err, size_t errlen)
{
    Cuts cuts = {0};
    Str tmp = {0};
    bool ok = true;
    for (size_t k = 0; k < in->n && ok; k++) {
        const char *s = in->text.data + in->spans[k].offset;
        size_t len = in->spans[k].len;
        switch (p->kind) {
        case PRE_BYTE_LEVEL: {
            tmp.len = 0;
            if (p->add_prefix_space && s[0] != ' ')
                str_putc(&tmp, ' ');
            str_put(&tmp, s, len);
            Pieces words = {0};
            if (p->use_regex) {
                ok = find_matches(t, p, tmp.data, tmp.len, &cuts, err, errlen);
                split_cuts(&cuts, SPLIT_ISOLATED, tmp.data, &words);
            } else
                pieces_add(&words, tmp.data, tmp.len);
            for (size_t w = 0; w < words.n; w++) {
                size_t start = out->text.len;
                for (size_t i = 0; i < words.spans[w].len; i++) {
                    size_t n;
                    const char *c = byte_char((unsigned char)words.text.data[words.spans[w].offset
                                                                             + i], &n);
                    str_put(&out->text, c, n);
                }
                grow((void **)&out->spans, &out->cap, out->n + 1, sizeof *out->spans);
                out->spans[out->n++] = (Span){start, out->text.len - start};
            }
            pieces_free(&words);
            break;
        }
        case PRE_SPLIT:
        case PRE_WHITESPACE:
            ok = find_matches(t, p, s, len, &cuts, err, errlen);
            split_cuts(&cuts, p->kind == PRE_WHITESPACE ? SPLIT_REMOVED : p->behavior, s, out);
            break;
        case PRE_WHITESPACE_SPLIT:
        case PRE_BERT:
            for (size_t i = 0, start = 0; i <= len;) {
                uint32_t cp = 0;
                size_t n = i < len ? utf8_decode(s + i, len - i, &cp) : 1;
                bool space = i < len && is_ws(cp);
                bool punct = i < len && p->kind == PRE_BERT && (uflags(cp) & TPCRT_U_PUNCT);
                if (i == len || space || punct) {
                    pieces_add(out, s + start, i - start);
                    if (punct)
                        pieces_add(out, s + i, n);
                    start = i + n;
                }
                i += n;
            }
            break;
        case PRE_METASPACE: {
            const char *r = p->literal;
            size_t rlen = strlen(r);
            tmp.len = 0;
            /* "first" is the first piece of text this pre-tokenizer sees in an encode, even
             * after an added token (HF 0.15) */
            if (p->prepend == PREPEND_ALWAYS || (p->prepend == PREPEND_FIRST && t->first_piece)) {
                if (!(len >= rlen && memcmp(s, r, rlen) == 0) && s[0] != ' ')
                    str_put(&tmp, r, rlen);
            }
            t->first_piece = false;
            for (size_t i = 0; i < len; i++) {
                if (s[i] == ' ')
                    str_put(&tmp, r, rlen);
                else
                    str_putc(&tmp, s[i]);
            }
            PreTokenizer lit = {.kind = PRE_SPLIT, .literal = (char *)r};
            ok = find_matches(t, &lit, tmp.data, tmp.len, &cuts, err, errlen);
            split_cuts(&cuts, SPLIT_MERGED_NEXT, tmp.data, out);
            break;
        }
        }
    }
    free(cuts.v);
    free(tmp.data);
    return ok;
}

/* ---- normalizers ---------------------------------------------------------------------------- */

static void replace_all(const char *s, size_t len, const char *from, const char *to, Str *out)
{
    size_t flen = strlen(from), tlen = strlen(to);
    for (size_t i = 0; i < len;) {
        if (flen && i + flen <= len && memcmp(s + i, from, flen) == 0) {
            str_put(out, to, tlen);
            i += flen;
        } else
            str_putc(out, s[i++]);
    }
}

static void bert_normalize(const Normalizer *n, const char *s, size_t len, Str *out)
{
    Str a = {0}, b = {0};
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = utf8_decode(s + i, len - i, &cp);
        uint32_t f = uflags(cp);
        if (n->clean_text && (f & TPCRT_U_CLEAN_DROP))
            ;
        else if (n->clean_text && (f & TPCRT_U_CLEAN_SPACE))
            str_putc(&a, ' ');
        else if (n->chinese && (f & TPCRT_U_CHINESE)) {
            str_putc(&a, ' ');
            str_put(&a, s + i, k);
            str_putc(&a, ' ');
        } else
            str_put(&a, s + i, k);
        i += k;
    }
    if (n->strip_accents) {
        normalize_nf(a.data ? a.data : "", a.len, false, &b);
        a.len = 0;
        for (size_t i = 0; i < b.len;) {
            uint32_t cp;
            size_t k = utf8_decode(b.data + i, b.len - i, &cp);
            if (!(uflags(cp) & TPCRT_U_BERT_MARK))
                str_put(&a, b.data + i, k);
            i += k;
        }
    }
    if (n->lowercase)
        for (size_t i = 0; i < a.len;) {
            uint32_t cp;
            i += utf8_decode(a.data + i, a.len - i, &cp);
            lowercase_cp(cp, out);
        }
    else
        str_put(out, a.data ? a.data : "", a.len);
    free(a.data);
    free(b.data);
}

/* Runs every normalizer over s into out. */
static void normalize(const TpcrtTokenizer *t, const char *s, size_t len, Str *out)
{
    Str cur = {0}, next = {0};
    str_put(&cur, s, len);
    for (int k = 0; k < t->nnorms; k++) {
        const Normalizer *n = &t->norms[k];
        next.len = 0;
        str_put(&next, "", 0);
        switch (n->kind) {
        case NORM_BERT:
            bert_normalize(n, cur.data, cur.len, &next);
            break;
        case NORM_LOWERCASE:
        case NORM_STRIP_ACCENTS:
            for (size_t i = 0; i < cur.len;) {
                uint32_t cp;
                size_t c = utf8_decode(cur.data + i, cur.len - i, &cp);
                if (n->kind == NORM_LOWERCASE)
                    lowercase_cp(cp, &next);
                else if (!(uflags(cp) & TPCRT_U_COMBINING_MARK))
                    str_put(&next, cur.data + i, c);
                i += c;
            }
            break;
        case NORM_NFD:
        case NORM_NFC:
            normalize_nf(cur.data, cur.len, n->kind == NORM_NFC, &next);
            break;
        case NORM_PREPEND:
            if (cur.len)
                str_puts(&next, n->content);
            str_put(&next, cur.data, cur.len);
            break;
        case NORM_REPLACE:
            replace_all(cur.data, cur.len, n->pattern, n->content, &next);
            break;
        case NORM_STRIP: {
            size_t a = 0, b = cur.len;
            while (n->left && a < b) {
                uint32_t cp;
                size_t c = utf8_decode(cur.data + a, b - a, &cp);
                if (!is_ws(cp))
                    break;
                a += c;
            }
            while (n->right && b > a) {
                size_t c = 1;
                while (c < b - a && ((unsigned char)cur.data[b - c] & 0xc0) == 0x80)
                    c++;
                uint32_t cp;
                utf8_decode(cur.data + b - c, c, &cp);
                if (!is_ws(cp))
                    break;
                b -= c;
            }
            str_put(&next, cur.data + a, b - a);
            break;
        }
        }
        Str swap = cur;
        cur = next;
        next = swap;
    }
    str_put(out, cur.data, cur.len);
    free(cur.data);
    free(next.data);
}

/* ---- models --------------------------------------------------------------------------------- */

typedef struct Ids {
    int32_t *v;
    size_t n, cap;
} Ids;

static void ids_add(Ids *ids, int32_t id)
{
    grow((void **)&ids->v, &ids->cap, ids->n + 1, sizeof *ids->v);
    ids->v[ids->n++] = id;
}

/* A symbol of a word being merged: its id and neighbours (HF's Word). */
typedef struct Symbol {
    int32_t id;
    int prev, next;
    bool gone;
} Symbol;

typedef struct Merge {
    int32_t rank, id;
    int pos;
} Merge;

static bool merge_before(const Merge *a, const Merge *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(Merge *h, size_t *n, Merge m)
{
    size_t i = (*n)++;
    h[i] = m;
    while (i > 0 && merge_before(&h[i], &h[(i - 1) / 2])) {
        Merge tmp = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
}

static Merge heap_pop(Merge *h, size_t *n)
{
    Merge top = h[0];
    h[0] = h[--*n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < *n && merge_before(&h[l], &h[best]))
            best = l;
        if (r < *n && merge_before(&h[r], &h[best]))
            best = r;
        if (best == i)
            break;
        Merge tmp = h[i];
        h[i] = h[best];
        h[best] = tmp;
        i = best;
    }
    return top;
}

static void queue_pair(const TpcrtTokenizer *t, const Symbol *sy, int pos, Merge *heap,
                       size_t *nheap)
{
    if (sy[pos].next < 0)
        return;
    const PairSlot *m = pairmap_get(&t->merges, sy[pos].id, sy[sy[pos].next].id);
    if (m)
        heap_push(heap, nheap, (Merge){m->rank, m->id, pos});
}

/* The symbols a word starts as: each character's token (with the continuing prefix past the
 * first, the suffix on the last), else its <0xNN> bytes, else unk (fused when fuse_unk). As in
 * HF's merge_word, an unk waits until a character of the vocabulary (or the end) comes, and byte
 * tokens do not end the wait: "xé" gives <0xC3> <0xA9> <unk>. */
static size_t bpe_symbols(const TpcrtTokenizer *t, const char *w, size_t len, Symbol *sy,
                          Str *tmp)
{
    size_t n = 0;
    bool unk_waiting = false;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t c = utf8_decode(w + i, len - i, &cp);
        tmp->len = 0;
        if (i > 0 && t->prefix)
            str_puts(tmp, t->prefix);
        str_put(tmp, w + i, c);
        if (i + c == len && t->suffix)
            str_puts(tmp, t->suffix);
        int32_t id = strmap_get(&t->vocab, tmp->data, tmp->len);
        bool bytes_ok = t->byte_fallback;
        for (size_t b = 0; id < 0 && bytes_ok && b < c; b++)
            bytes_ok = t->byte_ids[(unsigned char)w[i + b]] >= 0;
        if (id >= 0) {
            if (unk_waiting)
                sy[n++] = (Symbol){t->unk_id, 0, 0, false};
            unk_waiting = false;
            sy[n++] = (Symbol){id, 0, 0, false};
        } else if (bytes_ok) {
            for (size_t b = 0; b < c; b++)
                sy[n++] = (Symbol){t->byte_ids[(unsigned char)w[i + b]], 0, 0, false};
        } else if (t->unk_id >= 0) {
            if (unk_waiting && !t->fuse_unk)
                sy[n++] = (Symbol){t->unk_id, 0, 0, false};
            unk_waiting = true;
        }
        i += c;
    }
    if (unk_waiting)
        sy[n++] = (Symbol){t->unk_id, 0, 0, false};
    for (size_t i = 0; i < n; i++) {
        sy[i].prev = (int)i - 1;
        sy[i].next = i + 1 < n ? (int)i + 1 : -1;
    }
    return n;
}

/* BPE on one word (HF's Word::merge_all: lowest rank first, leftmost among equals). */
static void bpe_word(TpcrtTokenizer *t, const char *w, size_t len, Ids *out)
{
    if (t->ignore_merges) {
        int32_t id = strmap_get(&t->vocab, w, len);
        if (id >= 0) {
            ids_add(out, id);
            return;
        }
    }
    bool cacheable = len <= TOK_WORD_CACHE_LIMIT;
    if (cacheable) {
        int32_t e = strmap_get(&t->cache, w, len);
        if (e >= 0) {
            const CacheEntry *ce = &t->cache_entries[e];
            for (uint32_t i = 0; i < ce->count; i++)
                ids_add(out, t->cache_ids[ce->offset + i]);
            return;
        }
    }
    Symbol *sy = xrealloc(NULL, (len + 1) * sizeof *sy); /* at most one symbol a byte */
    Str tmp = {0};
    size_t n = bpe_symbols(t, w, len, sy, &tmp);
    free(tmp.data);
    /* n - 1 pairs to start, then at most two more per merge, and at most n - 1 merges */
    Merge *heap = xrealloc(NULL, (n * 3 + 1) * sizeof *heap);
    size_t nheap = 0;
    for (size_t i = 0; i < n; i++)
        queue_pair(t, sy, (int)i, heap, &nheap);
    while (nheap > 0) {
        Merge m = heap_pop(heap, &nheap);
        Symbol *a = &sy[m.pos];
        if (a->gone || a->next < 0)
            continue;
        const PairSlot *p = pairmap_get(&t->merges, a->id, sy[a->next].id);
        if (!p || p->id != m.id)
            continue; /* stale: a neighbour changed since this was queued */
        Symbol *b = &sy[a->next];
        a->id = m.id;
        b->gone = true;
        a->next = b->next;
        if (b->next >= 0)
            sy[b->next].prev = m.pos;
        if (a->prev >= 0)
            queue_pair(t, sy, a->prev, heap, &nheap);
        queue_pair(t, sy, m.pos, heap, &nheap);
    }
    size_t start = out->n;
    for (int i = n ? 0 : -1; i >= 0; i = sy[i].next)
        ids_add(out, sy[i].id);
    free(sy);
    free(heap);
    if (cacheable) {
        size_t count = out->n - start;
        if (t->ncache_ids + count > TOK_CACHE_IDS) { /* full: start again */
            strmap_clear(&t->cache);
            t->ncache_ids = t->ncache_entries = 0;
        }
        grow((void **)&t->cache_ids, &t->cache_ids_cap, t->ncache_ids + count,
             sizeof *t->cache_ids);
        grow((void **)&t->cache_entries, &t->cache_entries_cap, t->ncache_entries + 1,
             sizeof *t->cache_entries);
        memcpy(t->cache_ids + t->ncache_ids, out->v + start, count * sizeof *out->v);
        t->cache_entries[t->ncache_entries] = (CacheEntry){(uint32_t)t->ncache_ids,
                                                           (uint32_t)count};
        strmap_put(&t->cache, w, len, (int32_t)t->ncache_entries++);
        t->ncache_ids += count;
    }
}

/* WordPiece on one word: greedy longest match from the left; a word with no match, or longer
 * than max_input_chars_per_word characters, is [UNK]. */
static void wordpiece_word(const TpcrtTokenizer *t, const char *w, size_t len, Ids *out)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)w[i] & 0xc0) != 0x80;
    if (chars > (size_t)t->max_chars) {
        ids_add(out, t->unk_id);
        return;
    }
    size_t start_n = out->n, plen = strlen(t->prefix);
    Str tmp = {0};
    for (size_t start = 0; start < len;) {
        int32_t found = -1;
        /* no token is longer than the longest in the vocabulary: a long word costs linear time */
        size_t end = len;
        if (len - start > t->longest_token) {
            end = start + t->longest_token;
            while (end > start && ((unsigned char)w[end] & 0xc0) == 0x80) /* end < len */
                end--;
        }
        while (end > start) {
            tmp.len = 0;
            if (start > 0)
                str_put(&tmp, t->prefix, plen);
            str_put(&tmp, w + start, end - start);
            found = strmap_get(&t->vocab, tmp.data, tmp.len);
            if (found >= 0)
                break;
            do
                end--;
            while (end > start && ((unsigned char)w[end] & 0xc0) == 0x80);
        }
        if (found < 0) {
            out->n = start_n;
            ids_add(out, t->unk_id);
            break;
        }
        ids_add(out, found);
        start = end;
    }
    free(tmp.data);
}

/* ---- encoding ------------------------------------------------------------------------------- */

/* Normalized text (after the added tokens are out) through pre-tokenizers and the model. */
static bool encode_words(TpcrtTokenizer *t, const char *s, size_t len, Ids *out, char *err,
                         size_t errlen)
{
    Pieces cur = {0}, next = {0};
    pieces_add(&cur, s, len);
    bool ok = true;
    for (int k = 0; k < t->npres && ok; k++) {
        next.text.len = 0;
        next.n = 0;
        ok = pre_tokenize(t, &t->pres[k], &cur, &next, err, errlen);
        Pieces swap = cur;
        cur = next;
        next = swap;
    }
    for (size_t i = 0; i < cur.n && ok; i++) {
        const char *w = cur.text.data + cur.spans[i].offset;
        if (t->model == MODEL_BPE)
            bpe_word(t, w, cur.spans[i].len, out);
        else
            wordpiece_word(t, w, cur.spans[i].len, out);
    }
    pieces_free(&cur);
    pieces_free(&next);
    return ok;
}

/* The added token (of those `normalized` says) matching at s[i], longest first; its match
 * extended over the whitespace lstrip/rstrip take in [*start, *end). */
static const AddedToken *match_added(const TpcrtTokenizer *t, const char *s, size_t len, size_t i,
                                     bool normalized)
{
    const int32_t *range = t->added_first[(unsigned char)s[i]];
    for (int k = range[0]; k < range[1]; k++) {
        const AddedToken *a = &t->added[k];
        if (a->normalized == normalized && a->len <= len - i && memcmp(s + i, a->content,
                                                                       a->len) == 0)
            return a;
    }
    return NULL;
}

static size_t skip_ws_back(const char *s, size_t lo, size_t i)
{
    while (i > lo) {
        size_t c = 1;
        while (c < i - lo && ((unsigned char)s[i - c] & 0xc0) == 0x80)
            c++;
        uint32_t cp;
        utf8_decode(s + i - c, c, &cp);
        if (!is_ws(cp))
            break;
        i -= c;
    }
    return i;
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len) {
        uint32_t cp;
        size_t c = utf8_decode(s + i, len - i, &cp);
        if (!is_ws(cp))
            break;
        i += c;
    }
    return i;
}

typedef bool (*GapFn)(TpcrtTokenizer *t, const char *s, size_t len, Ids *out, char *err,
                      size_t errlen);

/* Cuts s at the added tokens (normalized or not), emitting their ids, and hands every gap to
 * gap(). lstrip/rstrip take the whitespace beside a token into it. */
static bool split_added(TpcrtTokenizer *t, const char *s, size_t len, bool normalized,
                        GapFn gap, Ids *out, char *err, size_t errlen)
{
    if (!(normalized ? t->any_normalized_added : t->any_raw_added))
        return gap(t, s, len, out, err, errlen);
    size_t gap_start = 0;
    for (size_t i = 0; i < len;) {
        const AddedToken *a = match_added(t, s, len, i, normalized);
        if (!a) {
            i++;
            continue;
        }
        size_t start = a->lstrip ? skip_ws_back(s, gap_start, i) : i;
        size_t end = a->rstrip ? skip_ws(s, len, i + a->len) : i + a->len;
        if (start > gap_start &&
            !gap(t, s + gap_start, start - gap_start, out, err, errlen))
            return false;
        ids_add(out, a->id);
        gap_start = i = end;
    }
    if (len > gap_start)
        return gap(t, s + gap_start, len - gap_start, out, err, errlen);
    return true;
}


/* A gap between raw added tokens: normalized, then cut at the normalized added tokens. */
static bool encode_raw_gap(TpcrtTokenizer *t, const char *s, size_t len, Ids *out, char *err,
                           size_t errlen)
{
    Str norm = {0};
    normalize(t, s, len, &norm);
    bool ok = norm.len == 0 ||
              (t->any_normalized_added
                   ? split_added(t, norm.data, norm.len, true, encode_words, out, err,
                                 errlen)
                   : encode_words(t, norm.data, norm.len, out, err, errlen));
    free(norm.data);
    return ok;
}

bool tpcrt_tokenizer_encode(TpcrtTokenizer *t, const char *text, size_t len, TpcrtEncoding *out,
                            char *err, size_t errlen)
{

    *out = (TpcrtEncoding){0};
    for (size_t i = 0; i < len;) {
        long k = utf8_valid_length((const unsigned char *)text + i, len - i);
        if (k <= 0)
            return tpcrt_error(err, errlen, "the text is not valid UTF-8 at byte %zu", i);
        i += (size_t)k;
    }
    Ids ids = {0};
    t->first_piece = true;
    if (len && !split_added(t, text, len, false, encode_raw_gap, &ids, err, errlen)) {
        free(ids.v);
        return false;
    }
    /* truncation leaves room for what the template adds */
    int64_t added = 0;
    for (int i = 0; i < t->ntmpl; i++)
        added += t->tmpl[i].nids;
    if (t->trunc_max >= 0) {
        int64_t keep = t->trunc_max > added ? t->trunc_max - added : 0;
        if ((int64_t)ids.n > keep) {
            if (t->trunc_left)
                memmove(ids.v, ids.v + ids.n - (size_t)keep, (size_t)keep * sizeof *ids.v);
            ids.n = (size_t)keep;
        }
    }
    int64_t n = (int64_t)ids.n + added;
    int64_t padded = n;
    if (t->pad_fixed > 0 && padded < t->pad_fixed)
        padded = t->pad_fixed;
    if (t->pad_fixed >= 0 && t->pad_multiple > 0 && padded % t->pad_multiple)
        padded += t->pad_multiple - padded % t->pad_multiple;
    out->n = padded;
    out->ids = xcalloc((size_t)padded, sizeof *out->ids);
    out->type_ids = xcalloc((size_t)padded, sizeof *out->type_ids);
    out->mask = xcalloc((size_t)padded, sizeof *out->mask);
    int64_t at = t->pad_left ? padded - n : 0;
    for (int64_t i = 0; i < padded - n; i++) {
        int64_t p = t->pad_left ? i : n + i;
        out->ids[p] = t->pad_id;
        out->type_ids[p] = t->pad_type_id;
    }
    if (t->ntmpl == 0)
        for (size_t i = 0; i < ids.n; i++, at++) {
            out->ids[at] = ids.v[i];
            out->mask[at] = 1;
        }
    for (int k = 0; k < t->ntmpl; k++) {
        const TemplatePiece *p = &t->tmpl[k];
        size_t count = p->sequence ? ids.n : (size_t)p->nids;
        for (size_t i = 0; i < count; i++, at++) {
            out->ids[at] = p->sequence ? ids.v[i] : p->ids[i];
            out->type_ids[at] = p->type_id;
            out->mask[at] = 1;
        }
    }
    free(ids.v);
    return true;
}

void tpcrt_encoding_free(TpcrtEncoding *enc)
{
    free(enc->ids);
    free(enc->type_ids);
    free(enc->mask);
    *enc = (TpcrtEncoding){0};
}

/* ---- decoding ------------------------------------------------------------------------------- */

static bool utf8_all_valid(const char *s, size_t n)
{
    for (size_t k = 0; k < n;) {
        long step = utf8_valid_length((const unsigned char *)s + k, n - k);
        if (step <= 0)
            return false;
        k += (size_t)step;
    }
    return true;
}

/* ByteFallback's run of <0xNN> bytes: one token of text when the bytes are valid UTF-8, else
 * one U+FFFD per byte (HF). */
static void flush_bytes(const Str *bytes, Pieces *out)
{
    if (utf8_all_valid(bytes->data, bytes->len)) {
        pieces_add_empty(out, bytes->data, bytes->len);
        return;
    }
    Str text = {0};
    for (size_t k = 0; k < bytes->len; k++)
        str_put(&text, "\xef\xbf\xbd", 3);
    pieces_add_empty(out, text.data, text.len);
    free(text.data);
}

/* One decoder over the token list in, into out (HF's decode_chain). */
static void decode_step(const Decoder *d, const Pieces *in, Pieces *out)
{
    Str tok = {0}, bytes = {0};
    for (size_t i = 0; i < in->n; i++) {
        const char *s = in->text.data + in->spans[i].offset;
        size_t len = in->spans[i].len;
        tok.len = 0;
        str_put(&tok, "", 0);
        switch (d->kind) {
        case DEC_BYTE_LEVEL: { /* all tokens' bytes together, then lossy UTF-8 */
            size_t mark = bytes.len;
            for (size_t k = 0; k < len;) {
                uint32_t cp;
                k += utf8_decode(s + k, len - k, &cp);
                int b = char_byte(cp);
                if (b < 0) { /* a character outside the map: the token's own bytes */
                    bytes.len = mark;
                    str_put(&bytes, s, len);
                    break;
                }
                str_putc(&bytes, (char)b);
            }
            continue;
        }
        case DEC_WORDPIECE: {
            size_t plen = strlen(d->pattern);
            if (i > 0 && len >= plen && memcmp(s, d->pattern, plen) == 0)
                str_put(&tok, s + plen, len - plen);
            else {
                if (i > 0)
                    str_putc(&tok, ' ');
                str_put(&tok, s, len);
            }
            if (d->cleanup) {
                static const char *pairs[][2] = {
                    {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
                    {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"},
                    {" 've", "'ve"}, {" 're", "'re"},
                };
                for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
                    Str r = {0};
                    replace_all(tok.data, tok.len, pairs[k][0], pairs[k][1], &r);
                    free(tok.data);
                    tok = r;
                    str_put(&tok, "", 0);
                }
            }
            break;
        }
        case DEC_METASPACE: {
            size_t rlen = strlen(d->pattern);
            for (size_t k = 0; k < len;) {
                if (len - k >= rlen && memcmp(s + k, d->pattern, rlen) == 0) {
                    if (!(i == 0 && d->prepend != PREPEND_NEVER))
                        str_putc(&tok, ' ');
                    k += rlen;
                } else
                    str_putc(&tok, s[k++]);
            }
            break;
        }
        case DEC_REPLACE:
            replace_all(s, len, d->pattern, d->content, &tok);
            break;
        case DEC_BYTE_FALLBACK: {
            unsigned hi, lo;
            if (len == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' &&
                sscanf(s + 3, "%1x%1x", &hi, &lo) == 2) {
                str_putc(&bytes, (char)(hi << 4 | lo));
                continue;
            }
            str_put(&tok, s, len);
            break;
        }
        case DEC_FUSE:
            str_put(&bytes, s, len);
            continue;
        case DEC_STRIP: {
            size_t clen = strlen(d->content), a = 0, b = len;
            for (int k = 0; k < d->start && b - a >= clen &&
                            memcmp(s + a, d->content, clen) == 0; k++)
                a += clen;
            for (int k = 0; k < d->stop && b - a >= clen &&
                            memcmp(s + b - clen, d->content, clen) == 0; k++)
                b -= clen;
            str_put(&tok, s + a, b - a);
            break;
        }
        case DEC_BPE:
            replace_all(s, len, d->content, i + 1 == in->n ? "" : " ", &tok);
            break;
        }
        if (d->kind == DEC_BYTE_FALLBACK && bytes.len) { /* the bytes before this token */
            flush_bytes(&bytes, out);
            bytes.len = 0;
        }
        pieces_add_empty(out, tok.data, tok.len);
    }
    if (d->kind == DEC_BYTE_LEVEL) {
        Str text = {0};
        str_put_lossy(&text, bytes.data ? bytes.data : "", bytes.len);
        pieces_add_empty(out, text.data ? text.data : "", text.len);
        free(text.data);
    } else if (d->kind == DEC_FUSE)
        pieces_add_empty(out, bytes.data ? bytes.data : "", bytes.len);
    else if (bytes.len)
        flush_bytes(&bytes, out);
    free(tok.data);
    free(bytes.data);
}

char *tpcrt_tokenizer_decode(const TpcrtTokenizer *t, const int32_t *ids, int64_t n,
                             bool skip_special, size_t *len)
{
    Pieces cur = {0}, next = {0};
    for (int64_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        const AddedToken *a = NULL; /* added tokens first, as HF looks them up */
        for (int k = 0; k < t->nadded && !a; k++)
            if (t->added[k].id == id)
                a = &t->added[k];
        if (a && a->special && skip_special)
            continue;
        if (a)
            pieces_add_empty(&cur, a->content, a->len);
        else if (id >= 0 && id < t->model_ids && t->token_len[id] != UINT32_MAX)
            pieces_add_empty(&cur, t->vocab.pool.data + t->token_off[id], t->token_len[id]);
    }
    for (int k = 0; k < t->ndecs; k++) {
        next.text.len = 0;
        next.n = 0;
        decode_step(&t->decs[k], &cur, &next);
        Pieces swap = cur;
        cur = next;
        next = swap;
    }
    Str text = {0};
    str_put(&text, "", 0);
    for (size_t i = 0; i < cur.n; i++) {
        if (i > 0 && !t->has_decoder)
            str_putc(&text, ' ');
        str_put(&text, cur.text.data + cur.spans[i].offset, cur.spans[i].len);
    }
    pieces_free(&cur);
    pieces_free(&next);
    *len = text.len;
    return text.data;
}
