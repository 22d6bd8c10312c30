/* generate.c — --generate: the prompt's prefill, then one decode step per new token, on the
 * model's step (TpcrtGenerator) and its KV cache, which the program keeps.
 *
 * The runtime knows nothing of the model here either: a step takes ids and gives this rank's
 * columns of the logits. What happens between steps is the same for every model: the next id
 * of each row is picked from logits split over the vocabulary without gathering them (the
 * sampler), rows end at --eos independently, rank 0 prints the ids (or the text) as they come
 * and writes --output tokens=FILE.npy.
 *
 * Every rank runs this loop in lockstep: the settings that decide how many steps run are rank
 * 0's, checked against every rank's own before the first step, and the ids every rank feeds
 * back are the sampler's, the same on every rank.
 */
#include <mpi.h> /* first: internal.h declares tpcrt_comm after it */

#include "internal.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The settings that decide the loop, as rank 0 has them; a rank started with others fails. */
typedef struct Settings {
    int64_t generate, max_context, prefill_chunk, eos, top_k, bench;
    int64_t logits_output; /* rank 0's --output logits: each step's logits are gathered to it */
    double temperature, top_p;
    uint64_t seed;
} Settings;

static Settings settings_agree(const TpcrtArgs *args)
{
    Settings s = {.generate = args->generate,
                  .max_context = args->max_context,
                  .prefill_chunk = args->prefill_chunk,
                  .eos = args->eos,
                  .top_k = args->top_k,
                  .bench = args->bench,
                  .logits_output = args->output_paths[0] != NULL,
                  .temperature = args->temperature,
                  .top_p = args->top_p,
                  .seed = args->seed};
    Settings r0 = s;
    mpi_check(MPI_Bcast(&r0, (int)sizeof r0, MPI_BYTE, 0, tpcrt_comm()));
    s.logits_output = r0.logits_output; /* --output is rank 0's (it writes), the gather all's */
    if (memcmp(&r0, &s, sizeof r0) != 0)
        tpcrt_fail("rank %d was started with other generation options than rank 0 (--generate, "
                   "--max-context, --prefill-chunk, --eos, --temperature, --top-k, --top-p, "
                   "--seed, --bench): every rank needs the same", tpcrt_rank());
    return s;
}

bool tpcrt_generating(const TpcrtArgs *args)
{
    return settings_agree(args).generate > 0;
}

int64_t tpcrt_prefill_step(const TpcrtArgs *args, int64_t prompt)
{
    Settings s = settings_agree(args);
    return s.prefill_chunk && s.prefill_chunk < prompt ? s.prefill_chunk : prompt;
}

int64_t tpcrt_generation_context(const TpcrtArgs *args, int64_t prompt, int64_t positions)
{
    Settings s = settings_agree(args);
    int64_t need = prompt + s.generate;
    if (s.max_context && s.max_context < need)
        tpcrt_refuse("--max-context %lld: the prompt's %lld positions and --generate %lld "
                     "need %lld", (long long)s.max_context, (long long)prompt,
                     (long long)s.generate, (long long)need);
    int64_t context = s.max_context ? s.max_context : need;
    if (positions > 0 && context > positions)
        tpcrt_refuse("%s %lld positions per sequence, past the model's %lld (the rows of its "
                     "position table)", s.max_context ? "--max-context: asks for" :
                     "the prompt and --generate need", (long long)context, (long long)positions);
    return context;
}

/* ---- the end of a row ------------------------------------------------------------------------ */

/* config.json's eos_token_id (a number, or the first of a list) beside --weights, or -1. Rank 0
 * reads it; every rank gets it. */
static int64_t config_eos(const TpcrtArgs *args)
{
    int64_t eos = -1;
    if (tpcrt_rank() == 0 && args->weights) {
        char path[4096];
        struct stat st;
        const char *dir = args->weights;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            snprintf(path, sizeof path, "%s/config.json", dir);
        else {
            const char *slash = strrchr(dir, '/');
            snprintf(path, sizeof path, "%.*s/config.json", slash ? (int)(slash - dir) : 1,
                     slash ? dir : ".");
        }
        json_t *root = stat(path, &st) == 0 && S_ISREG(st.st_mode)
                           ? json_load_file(path, 0, NULL)
                           : NULL;
        json_t *id = root ? json_object_get(root, "eos_token_id") : NULL;
        if (json_is_array(id))
            id = json_array_get(id, 0);
        if (json_is_integer(id) && json_integer_value(id) >= 0)
            eos = json_integer_value(id);
        json_decref(root);
    }
    mpi_check(MPI_Bcast(&eos, 1, MPI_INT64_T, 0, tpcrt_comm()));
    return eos;
}


/* ---- the next id ------------------------------------------------------------------------------ */

void tpcrt_next_ids(const TpcrtGenerator *g, const TpcrtSampling *sampling, const float *logits,
                    int64_t batch, int64_t seq, int64_t position, int32_t *next)
{
    static const TpcrtSampling greedy = {0, 0, 1, 0};
    const float *last = g->last_only ? logits : logits + (seq - 1) * g->ld_logits;
    tpcrt_sample(last, batch, g->last_only ? g->ld_logits : seq * g->ld_logits, g->vocab_first,
                 g->vocab_held, g->vocab, sampling ? sampling : &greedy, position, next);
}

/* ---- --output logits: the logits each new id was picked from -------------------------------- */

/* Rank 0 gets every rank's columns of the rows' logits into full [rows, vocab] (one gather).
 * Only with --output logits=FILE: generation itself never gathers them. */
static void logits_gather(const TpcrtGenerator *g, const float *logits, int64_t rows,
                          int64_t stride, float *full)
{
    int size = tpcrt_world_size(), rank = tpcrt_rank();
    int64_t mine[2] = {g->vocab_first, g->vocab_held};
    int64_t *ranges = tpcrt_alloc(sizeof(int64_t) * 2 * (size_t)size, "logits ranges");
    mpi_check(MPI_Allgather(mine, 2, MPI_INT64_T, ranges, 2, MPI_INT64_T, tpcrt_comm()));
    int *counts = tpcrt_alloc(sizeof(int) * (size_t)size, "logits counts");
    int *displs = tpcrt_alloc(sizeof(int) * (size_t)size, "logits counts");
    int64_t total = 0;
    for (int r = 0; r < size; r++) {
        if (rows * ranges[2 * r + 1] > INT32_MAX || total > INT32_MAX)
            tpcrt_fail("--output logits: %lld rows of logits are too many to gather",
                       (long long)rows);
        counts[r] = (int)(rows * ranges[2 * r + 1]);
        displs[r] = (int)total;
        total += counts[r];
    }
    float *packed = tpcrt_alloc(sizeof(float) * (size_t)(rows * g->vocab_held), "logits");
    for (int64_t b = 0; b < rows; b++)
        memcpy(packed + b * g->vocab_held, logits + b * stride,
               sizeof(float) * (size_t)g->vocab_held);
    float *all = rank == 0 ? tpcrt_alloc(sizeof(float) * (size_t)total, "logits") : NULL;
    mpi_check(MPI_Gatherv(packed, counts[rank], MPI_FLOAT, all, counts, displs, MPI_FLOAT, 0,
                          tpcrt_comm()));
    for (int r = 0; rank == 0 && r < size; r++)
        for (int64_t b = 0; b < rows; b++)
            memcpy(full + b * g->vocab + ranges[2 * r], all + displs[r] + b * ranges[2 * r + 1],
                   sizeof(float) * (size_t)ranges[2 * r + 1]);
    tpcrt_free(all);
    tpcrt_free(packed);
    tpcrt_free(counts);
    tpcrt_free(displs);
    tpcrt_free(ranges);
}

typedef struct Run {
    const TpcrtGenerator *g;
    const Settings *s;
    int64_t batch, prompt_len, width; /* width: columns of `tokens`, prompt + new */
    int32_t *tokens;                  /* [batch, width]: the prompt, then the new ids */
    int64_t generated;                /* new ids so far */
    bool *ended;
    int32_t *next;
    TpcrtSampling sampling;
    double prefill_seconds, *decode_seconds; /* [generate - 1] */
    float *logits;                    /* --output logits: [batch, generate, vocab] on rank 0 */
    float *row_logits;                /* [batch, vocab] */
    TpcrtTokenizer *tok;              /* rank 0, with --prompt: the text is printed */
    size_t printed;                   /* bytes of row 0's text printed so far */
} Run;

/* The text of row b's new ids (special tokens skipped), malloc'd. */
static char *new_text(const Run *run, int64_t b, size_t *len)
{
    return tpcrt_tokenizer_decode(run->tok, run->tokens + b * run->width + run->prompt_len,
                                  run->generated, true, len);
}

/* As they come: row 0's new ids, or its new text, once a character is whole (a byte-level
 * token may hold part of one: decoding shows it as U+FFFD until the rest comes). */
static void print_progress(Run *run)
{
    if (!run->tok) {
        printf("%s%d", run->generated == 1 ? "" : " ", run->next[0]);
        fflush(stdout);
        return;
    }
    size_t len = 0;
    char *text = new_text(run, 0, &len);
    bool partial = len >= 3 && !memcmp(text + len - 3, "\xEF\xBF\xBD", 3);
    if (text && !partial && len > run->printed) {
        fwrite(text + run->printed, 1, len - run->printed, stdout);
        fflush(stdout);
        run->printed = len;
    }
    free(text);
}

/* The next id of each row from a step's logits (the last position of each row), and whether
 * every row has ended. */
static bool take_next(Run *run, const float *logits, int64_t seq, bool print)
{
    const TpcrtGenerator *g = run->g;
    const float *last = g->last_only ? logits : logits + (seq - 1) * g->ld_logits;
    int64_t stride = g->last_only ? g->ld_logits : seq * g->ld_logits;
    int64_t position = run->prompt_len + run->generated; /* of the id picked: the noise's step */
    tpcrt_next_ids(g, &run->sampling, logits, run->batch, seq, position, run->next);
    if (run->row_logits) {
        logits_gather(g, last, run->batch, stride, run->row_logits);
        for (int64_t b = 0; tpcrt_rank() == 0 && b < run->batch; b++)
            memcpy(run->logits + (b * run->s->generate + run->generated) * g->vocab,
                   run->row_logits + b * g->vocab, sizeof(float) * (size_t)g->vocab);
    }
    bool all_ended = true;
    int64_t at = run->prompt_len + run->generated;
    for (int64_t b = 0; b < run->batch; b++) {
        int32_t id = run->ended[b] ? (int32_t)run->s->eos : run->next[b];
        run->tokens[b * run->width + at] = id;
        run->next[b] = id;
        if (run->s->eos >= 0 && id == run->s->eos)
            run->ended[b] = true;
        all_ended &= run->ended[b];
    }
    run->generated++;
    if (print && tpcrt_rank() == 0 && run->batch == 1)
        print_progress(run);
    return all_ended && run->s->eos >= 0;
}

const float *tpcrt_prefill(const TpcrtGenerator *g, const int32_t *prompt, int64_t batch,
                          int64_t prompt_len, int64_t chunk, int64_t *last_seq)
{
    int64_t step = chunk && chunk < prompt_len ? chunk : prompt_len, seq = 0;
    int32_t *ids = step < prompt_len
                       ? tpcrt_alloc(sizeof(int32_t) * (size_t)(batch * step), "prompt ids")
                       : NULL;
    const float *logits = NULL;
    for (int64_t past = 0; past < prompt_len; past += seq) {
        seq = prompt_len - past < step ? prompt_len - past : step;
        if (ids) /* this step's columns of the prompt, [batch, seq] */
            for (int64_t b = 0; b < batch; b++)
                memcpy(ids + b * seq, prompt + b * prompt_len + past,
                       sizeof(int32_t) * (size_t)seq);
        logits = g->step(g->self, ids ? ids : prompt, batch, seq, past);
    }
    tpcrt_free(ids);
    *last_seq = seq;
    return logits;
}

static void generate_once(Run *run, const int32_t *prompt, bool print)
{
    const TpcrtGenerator *g = run->g;
    for (int64_t b = 0; b < run->batch; b++) {
        memcpy(run->tokens + b * run->width, prompt + b * run->prompt_len,
               sizeof(int32_t) * (size_t)run->prompt_len);
        run->ended[b] = false;
    }
    run->generated = 0;
    double start = tpcrt_now();
    int64_t seq;
    const float *logits = tpcrt_prefill(g, prompt, run->batch, run->prompt_len,
                                        run->s->prefill_chunk, &seq);
    bool done = take_next(run, logits, seq, print);
    run->prefill_seconds = tpcrt_now() - start;
    while (!done && run->generated < run->s->generate) {
        start = tpcrt_now();
        int64_t past = run->prompt_len + run->generated - 1;
        logits = g->step(g->self, run->next, run->batch, 1, past);
        done = take_next(run, logits, 1, print);
        run->decode_seconds[run->generated - 2] = tpcrt_now() - start;
    }
}

static int compare_seconds(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int64_t n)
{
    qsort(v, (size_t)n, sizeof *v, compare_seconds);
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --bench K: K generations after the warm-up one; the medians of their prefills and of every
 * decode step, on rank 0's clock. */
static void bench(Run *run, const int32_t *prompt, int k)
{
    int64_t steps = run->s->generate - 1;
    double *prefill = tpcrt_alloc(sizeof(double) * (size_t)k, "bench");
    double *decode = tpcrt_alloc(sizeof(double) * (size_t)(k * (steps > 0 ? steps : 1)), "bench");
    int64_t ndecode = 0;
    double collectives = tpcrt_collective_seconds(), total = 0;
    for (int i = 0; i < k; i++) {
        double start = tpcrt_now();
        generate_once(run, prompt, false);
        total += tpcrt_now() - start;
        prefill[i] = run->prefill_seconds;
        for (int64_t d = 0; d + 1 < run->generated; d++)
            decode[ndecode++] = run->decode_seconds[d];
    }
    double d = median(decode, ndecode);
    if (tpcrt_rank() == 0) {
        printf("bench: prefill median %.3f ms, decode median %.3f ms/token, %.1f tokens/s, "
               "collectives %.1f%%\n", 1e3 * median(prefill, k), 1e3 * d,
               d > 0 ? (double)run->batch / d : 0.0,
               total > 0 ? 100.0 * (tpcrt_collective_seconds() - collectives) / total : 0.0);
        fflush(stdout);
    }
    tpcrt_free(prefill);
    tpcrt_free(decode);
}

/* Rank 0 writes --output tokens=FILE.npy, or prints the rows of a batch. */
static void report(const Run *run, const TpcrtProgram *prog, const TpcrtArgs *args)
{
    if (tpcrt_rank() != 0)
        return;
    int64_t width = run->prompt_len + run->generated;
    if (run->batch == 1)
        printf("\n");
    for (int64_t b = 0; run->batch > 1 && b < run->batch; b++) {
        printf("row %lld:", (long long)b);
        size_t len = 0;
        char *text = run->tok ? new_text(run, b, &len) : NULL;
        if (text)
            printf(" %s", text);
        for (int64_t i = run->prompt_len; !run->tok && i < width; i++)
            printf(" %d", run->tokens[b * run->width + i]);
        printf("\n");
        free(text);
    }
    fflush(stdout);
    if (args->output_paths[0]) { /* the logits of each new id: [batch, new, vocab] */
        float *dense = tpcrt_alloc(sizeof(float) * (size_t)(run->batch * run->generated *
                                                            run->g->vocab), "logits");
        for (int64_t b = 0; b < run->batch; b++)
            memcpy(dense + b * run->generated * run->g->vocab,
                   run->logits + b * run->s->generate * run->g->vocab,
                   sizeof(float) * (size_t)(run->generated * run->g->vocab));
        TpcrtArray array = {TPCRT_F32, 3, {run->batch, run->generated, run->g->vocab}, dense};
        char err[TPCRT_ERROR_LEN];
        if (!tpcrt_npy_write(args->output_paths[0], &array, err, sizeof err))
            tpcrt_fail("--output %s: %s", prog->outputs[0].name, err);
        tpcrt_free(dense);
    }
    if (!args->tokens_output)
        return;
    int32_t *dense = tpcrt_alloc(sizeof(int32_t) * (size_t)(run->batch * width), "tokens");
    for (int64_t b = 0; b < run->batch; b++)
        memcpy(dense + b * width, run->tokens + b * run->width, sizeof(int32_t) * (size_t)width);
    TpcrtArray array = {TPCRT_I32, 2, {run->batch, width}, dense};
    char err[TPCRT_ERROR_LEN];
    if (!tpcrt_npy_write(args->tokens_output, &array, err, sizeof err))
        tpcrt_fail("--output %s: %s",
                   prog->inputs[tpcrt_prompt_input(prog, TPCRT_ROLE_TOKENS)].name, err);
    tpcrt_free(dense);
}

void tpcrt_generate(const TpcrtProgram *prog, const TpcrtArgs *args, const TpcrtGenerator *g,
                    const int32_t *prompt, int64_t batch, int64_t prompt_len)
{
    Settings s = settings_agree(args);
    if (s.eos < 0)
        s.eos = config_eos(args);
    else if (s.eos >= g->vocab)
        tpcrt_refuse("--eos %lld: expected an id of the vocabulary (0 to %lld)",
                     (long long)s.eos, (long long)g->vocab - 1);
    if (batch > INT32_MAX / 2)
        tpcrt_refuse("--generate: a batch of %lld rows is too many", (long long)batch);
    Run run = {.g = g, .s = &s, .batch = batch, .prompt_len = prompt_len,
               .width = prompt_len + s.generate};
    run.tokens = tpcrt_alloc(sizeof(int32_t) * (size_t)(batch * run.width), "tokens");
    run.ended = tpcrt_alloc(sizeof(bool) * (size_t)batch, "rows");
    run.next = tpcrt_alloc(sizeof(int32_t) * (size_t)batch, "ids");
    run.sampling = (TpcrtSampling){s.temperature, s.top_k, s.top_p, s.seed};
    run.decode_seconds = tpcrt_alloc(sizeof(double) * (size_t)s.generate, "timing");
    if (s.logits_output) {
        int64_t n = tpcrt_size(3, (int64_t[]){batch, s.generate, g->vocab});
        run.logits = tpcrt_rank() == 0 ? tpcrt_alloc(sizeof(float) * (size_t)n, "logits") : NULL;
        run.row_logits = tpcrt_alloc(sizeof(float) * (size_t)(batch * g->vocab), "logits");
    }
    if (tpcrt_rank() == 0 && args->nprompts > 0) { /* the prompt was text: so is the output */
        char path[4 * TPCRT_PATH_LEN], err[TPCRT_ERROR_LEN];
        tpcrt_tokenizer_path(args, path, sizeof path);
        run.tok = tpcrt_tokenizer_load(path, err, sizeof err);
        if (!run.tok)
            tpcrt_fail("--prompt: %s", err);
    }
    generate_once(&run, prompt, true);
    report(&run, prog, args);
    tpcrt_tokenizer_free(run.tok);
    tpcrt_free(run.logits);
    tpcrt_free(run.row_logits);
    run.row_logits = NULL;
    if (args->bench > 0)
        bench(&run, prompt, args->bench);
    tpcrt_free(run.tokens);
    tpcrt_free(run.ended);
    tpcrt_free(run.next);
    tpcrt_free(run.decode_seconds);
}
