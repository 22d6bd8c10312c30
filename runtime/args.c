/* args.c — the built program's command line (docs/cli.md, "The built program").
 *
 * One table holds the options; each has a parser for its value. A value is the next argument or
 * follows '=' (--bench 5, --bench=5). Nothing here prints or exits: tpcrt_args_parse returns a
 * status and, for a usage error, one message that names the option, what it expected and what
 * it saw. Names stored in TpcrtArgs point at the program's declarations or into argv, both of
 * which live as long as the program.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct Parse {
    const TpcrtProgram *prog;
    TpcrtArgs *args;
    bool weights_seen, random_weights_seen, random_input_seen, bench_seen, threads_seen;
    bool tokenizer_seen, generate_seen, max_context_seen, prefill_chunk_seen, eos_seen;
    bool temperature_seen;
    bool top_k_seen, top_p_seen, seed_seen;
} Parse;

typedef bool (*OptionFn)(Parse *p, const char *option, const char *value, char *err,
                         size_t errlen);

typedef struct Option {
    const char *name;
    bool takes_value;
    OptionFn parse;
} Option;

/* ---- values ---------------------------------------------------------------------------------- */

/* A decimal number without sign, in [min, max]. */
static bool parse_number(const char *text, uint64_t min, uint64_t max, uint64_t *value)
{
    if (*text < '0' || *text > '9')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *value = v;
    return true;
}

static bool parse_seed(const char *option, const char *text, uint64_t *seed, char *err,
                       size_t errlen)
{
    if (!parse_number(text, 0, UINT64_MAX, seed))
        return tpcrt_error(err, errlen, "%s: expected a seed (a number 0 to %llu), saw '%s'",
                           option, (unsigned long long)UINT64_MAX, text);
    return true;
}

static bool parse_positive(const char *option, const char *what, const char *text,
                           uint64_t max, uint64_t *value, char *err, size_t errlen)
{
    if (!parse_number(text, 1, max, value))
        return tpcrt_error(err, errlen, "%s: expected %s (1 to %llu), saw '%s'", option, what,
                           (unsigned long long)max, text);
    return true;
}

/* ---- names ----------------------------------------------------------------------------------- */

static int find_decl(const TpcrtTensorDecl *decls, int n, const char *name, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(decls[i].name) == len && strncmp(decls[i].name, name, len) == 0)
            return i;
    return -1;
}

/* The program's own spelling of a symbolic dimension named by name[0..len), or NULL. */
static const char *find_dim_name(const TpcrtProgram *prog, const char *name, size_t len)
{
    for (int io = 0; io < 2; io++) {
        const TpcrtTensorDecl *decls = io == 0 ? prog->inputs : prog->outputs;
        int n = io == 0 ? prog->ninputs : prog->noutputs;
        for (int i = 0; i < n; i++)
            for (int d = 0; d < decls[i].ndim; d++) {
                const char *dim = decls[i].dim_names[d];
                if (dim && strlen(dim) == len && strncmp(dim, name, len) == 0)
                    return dim;
            }
    }
    return NULL;
}

/* "a, b, c": the names of decls, for messages. */
static const char *list_names(const TpcrtTensorDecl *decls, int n, char *buf, size_t len)
{
    size_t used = 0;
    snprintf(buf, len, "none");
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", decls[i].name);
    return buf;
}

/* "[NAME=]FILE" of --input and --output: sets paths[index] of the declaration NAME names (NAME
 * may be left out when n == 1), once. */
static bool parse_named_file(const char *option, const char *value, const TpcrtTensorDecl *decls,
                             int n, const char *kind, const char **paths, char *err,
                             size_t errlen)
{
    char names[TPCRT_ERROR_LEN / 2];
    const char *eq = strchr(value, '='), *file = value;
    int index = 0;
    if (!eq && n != 1)
        return tpcrt_error(err, errlen, "%s: expected NAME=FILE.npy (the %ss are %s), saw '%s'",
                           option, kind, list_names(decls, n, names, sizeof names), value);
    if (eq) {
        index = find_decl(decls, n, value, (size_t)(eq - value));
        file = eq + 1;
        if (index < 0)
            return tpcrt_error(err, errlen, "%s: expected the name of an %s (%s), saw '%.*s'",
                               option, kind, list_names(decls, n, names, sizeof names),
                               (int)(eq - value), value);
    }
    if (*file == '\0')
        return tpcrt_error(err, errlen, "%s: expected a file name after '%s'", option, value);
    if (paths[index])
        return tpcrt_error(err, errlen, "%s: expected %s '%s' once, given twice", option, kind,
                           decls[index].name);
    paths[index] = file;
    return true;
}

/* ---- options --------------------------------------------------------------------------------- */

static bool once(bool *seen, const char *option, char *err, size_t errlen)
{
    if (*seen)
        return tpcrt_error(err, errlen, "%s: expected once, given twice", option);
    *seen = true;
    return true;
}

static bool option_weights(Parse *p, const char *option, const char *value, char *err,
                           size_t errlen)
{
    p->args->weights = value;
    return once(&p->weights_seen, option, err, errlen);
}

static bool option_random_weights(Parse *p, const char *option, const char *value, char *err,
                                  size_t errlen)
{
    p->args->random_weights = true;
    return once(&p->random_weights_seen, option, err, errlen) &&
           parse_seed(option, value, &p->args->weights_seed, err, errlen);
}

static bool option_input(Parse *p, const char *option, const char *value, char *err,
                         size_t errlen)
{
    return parse_named_file(option, value, p->prog->inputs, p->prog->ninputs, "input",
                            p->args->input_paths, err, errlen);
}

static bool option_random_input(Parse *p, const char *option, const char *value, char *err,
                                size_t errlen)
{
    p->args->random_input = true;
    return once(&p->random_input_seen, option, err, errlen) &&
           parse_seed(option, value, &p->args->input_seed, err, errlen);
}

static bool option_dim(Parse *p, const char *option, const char *value, char *err,
                       size_t errlen)
{
    const char *eq = strchr(value, '=');
    if (!eq)
        return tpcrt_error(err, errlen, "%s: expected NAME=N, saw '%s'", option, value);
    const char *name = find_dim_name(p->prog, value, (size_t)(eq - value));
    if (!name)
        return tpcrt_error(err, errlen, "%s: expected a symbolic dimension of an input or "
                           "output, saw '%.*s'", option, (int)(eq - value), value);
    TpcrtDims *dims = &p->args->dims;
    if (tpcrt_dims_find(dims, name) >= 0)
        return tpcrt_error(err, errlen, "%s: expected '%s' once, given twice", option, name);
    uint64_t size;
    if (!parse_positive(option, "a size", eq + 1, INT64_MAX, &size, err, errlen))
        return false;
    if (dims->n == TPCRT_MAX_IO)
        return tpcrt_error(err, errlen, "%s: too many dimensions (limit is %d)", option,
                           TPCRT_MAX_IO);
    dims->names[dims->n] = name;
    dims->values[dims->n++] = (int64_t)size;
    return true;
}

/* --output NAME=FILE: an output, or with --generate the tokens (the input's name), which no
 * output of the program may have. */
static bool option_output(Parse *p, const char *option, const char *value, char *err,
                          size_t errlen)
{
    int tokens = tpcrt_prompt_input(p->prog, TPCRT_ROLE_TOKENS);
    const char *eq = strchr(value, '=');
    if (tokens >= 0 && eq && !p->prog->no_generation) {
        const char *name = p->prog->inputs[tokens].name;
        size_t len = (size_t)(eq - value);
        if (strlen(name) == len && strncmp(value, name, len) == 0 &&
            find_decl(p->prog->outputs, p->prog->noutputs, value, len) < 0) {
            if (p->args->tokens_output)
                return tpcrt_error(err, errlen, "%s: expected '%s' once, given twice", option,
                                   name);
            if (eq[1] == '\0')
                return tpcrt_error(err, errlen, "%s: expected a file name after '%s'", option,
                                   value);
            p->args->tokens_output = eq + 1;
            return true;
        }
    }
    return parse_named_file(option, value, p->prog->outputs, p->prog->noutputs, "output",
                            p->args->output_paths, err, errlen);
}

static bool option_bench(Parse *p, const char *option, const char *value, char *err,
                         size_t errlen)
{
    uint64_t n;
    if (!once(&p->bench_seen, option, err, errlen) ||
        !parse_positive(option, "a number of forwards", value, 1000000000, &n, err, errlen))
        return false;
    p->args->bench = (int)n;
    return true;
}

static bool option_threads(Parse *p, const char *option, const char *value, char *err,
                           size_t errlen)
{
    uint64_t n;
    if (!once(&p->threads_seen, option, err, errlen) ||
        !parse_positive(option, "a number of threads", value, 1024, &n, err, errlen))
        return false;
    p->args->threads = (int)n;
    return true;
}

static bool option_stats(Parse *p, const char *option, const char *value, char *err,
                         size_t errlen)
{
    p->args->stats = true;
    return true;
}

static bool option_prompt(Parse *p, const char *option, const char *value, char *err,
                          size_t errlen)
{
    if (p->args->nprompts == TPCRT_MAX_PROMPTS)
        return tpcrt_error(err, errlen, "%s: too many prompts (limit is %d)", option,
                           TPCRT_MAX_PROMPTS);
    p->args->prompts[p->args->nprompts++] = value;
    return true;
}

static bool option_tokenizer(Parse *p, const char *option, const char *value, char *err,
                             size_t errlen)
{
    p->args->tokenizer = value;
    return once(&p->tokenizer_seen, option, err, errlen);
}

static bool option_generate(Parse *p, const char *option, const char *value, char *err,
                            size_t errlen)
{
    uint64_t n;
    if (!once(&p->generate_seen, option, err, errlen) ||
        !parse_positive(option, "a number of new tokens", value, INT32_MAX, &n, err, errlen))
        return false;
    p->args->generate = (int64_t)n;
    return true;
}

static bool option_max_context(Parse *p, const char *option, const char *value, char *err,
                               size_t errlen)
{
    uint64_t n;
    if (!once(&p->max_context_seen, option, err, errlen) ||
        !parse_positive(option, "a number of positions", value, INT32_MAX, &n, err, errlen))
        return false;
    p->args->max_context = (int64_t)n;
    return true;
}

static bool option_prefill_chunk(Parse *p, const char *option, const char *value, char *err,
                                 size_t errlen)
{
    uint64_t n;
    if (!once(&p->prefill_chunk_seen, option, err, errlen) ||
        !parse_positive(option, "a number of tokens", value, INT32_MAX, &n, err, errlen))
        return false;
    p->args->prefill_chunk = (int64_t)n;
    return true;
}

static bool option_eos(Parse *p, const char *option, const char *value, char *err,
                       size_t errlen)
{
    uint64_t id;
    if (!once(&p->eos_seen, option, err, errlen))
        return false;
    if (!parse_number(value, 0, INT32_MAX, &id))
        return tpcrt_error(err, errlen, "%s: expected a token id (0 to %d), saw '%s'", option,
                           INT32_MAX, value);
    p->args->eos = (int64_t)id;
    return true;
}

/* A finite decimal number in [min, max] (min excluded when open). */
static bool parse_real(const char *option, const char *text, double min, bool open, double max,
                       double *value, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    bool ok = *text != '\0' && *end == '\0' && errno == 0 && v == v && (open ? v > min : v >= min)
              && v <= max;
    if (!ok)
        return tpcrt_error(err, errlen, "%s: expected a number in %s%g, %g], saw '%s'", option,
                           open ? "(" : "[", min, max, text);
    *value = v;
    return true;
}

static bool option_temperature(Parse *p, const char *option, const char *value, char *err,
                               size_t errlen)
{
    return once(&p->temperature_seen, option, err, errlen) &&
           parse_real(option, value, 0, false, 1e6, &p->args->temperature, err, errlen);
}

static bool option_top_k(Parse *p, const char *option, const char *value, char *err,
                         size_t errlen)
{
    uint64_t k;
    if (!once(&p->top_k_seen, option, err, errlen))
        return false;
    if (!parse_number(value, 0, INT32_MAX, &k))
        return tpcrt_error(err, errlen, "%s: expected a number of ids (0: all), saw '%s'",
                           option, value);
    p->args->top_k = (int64_t)k;
    return true;
}

static bool option_top_p(Parse *p, const char *option, const char *value, char *err,
                         size_t errlen)
{
    return once(&p->top_p_seen, option, err, errlen) &&
           parse_real(option, value, 0, true, 1, &p->args->top_p, err, errlen);
}

static bool option_seed(Parse *p, const char *option, const char *value, char *err,
                        size_t errlen)
{
    return once(&p->seed_seen, option, err, errlen) &&
           parse_seed(option, value, &p->args->seed, err, errlen);
}

static const Option options[] = {
    {"--weights",        true,  option_weights},
    {"--random-weights", true,  option_random_weights},
    {"--input",          true,  option_input},
    {"--random-input",   true,  option_random_input},
    {"--dim",            true,  option_dim},
    {"--output",         true,  option_output},
    {"--bench",          true,  option_bench},
    {"--threads",        true,  option_threads},
    {"--stats",          false, option_stats},
    {"--prompt",         true,  option_prompt},
    {"--tokenizer",      true,  option_tokenizer},
    {"--generate",       true,  option_generate},
    {"--max-context",    true,  option_max_context},
    {"--prefill-chunk",  true,  option_prefill_chunk},
    {"--eos",            true,  option_eos},
    {"--temperature",    true,  option_temperature},
    {"--top-k",          true,  option_top_k},
    {"--top-p",          true,  option_top_p},
    {"--seed",           true,  option_seed},
};

/* The option `arg` names, with its value split off after '=' when it has one there. */
static const Option *find_option(const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        size_t len = strlen(options[i].name);
        if (strncmp(arg, options[i].name, len) != 0)
            continue;
        if (arg[len] == '\0')
            return &options[i];
        if (arg[len] == '=') {
            *inline_value = arg + len + 1;
            return &options[i];
        }
    }
    return NULL;
}

/* ---- after every option: what must have been given ------------------------------------------- */

static bool check_weights(const Parse *p, char *err, size_t errlen)
{
    if (p->weights_seen && p->random_weights_seen)
        return tpcrt_error(err, errlen, "expected one of --weights and --random-weights, "
                           "saw both");
    if (!p->weights_seen && !p->random_weights_seen)
        return tpcrt_error(err, errlen, "expected --weights PATH or --random-weights SEED");
    return true;
}

/* True when `dim` is bound by --dim or by the shape of an input read from a file or made from
 * the prompts. */
static bool dim_bound(const Parse *p, const char *dim)
{
    if (tpcrt_dims_find(&p->args->dims, dim) >= 0)
        return true;
    for (int i = 0; i < p->prog->ninputs; i++) {
        const TpcrtTensorDecl *in = &p->prog->inputs[i];
        bool given = p->args->input_paths[i] || tpcrt_prompt_fills(p->prog, p->args, i);
        for (int d = 0; given && d < in->ndim; d++)
            if (in->dim_names[d] && strcmp(in->dim_names[d], dim) == 0)
                return true;
    }
    return false;
}

int tpcrt_prompt_input(const TpcrtProgram *prog, TpcrtInputRole role)
{
    int marked = 0, i32 = 0, only_i32 = -1;
    for (int i = 0; i < prog->ninputs; i++) {
        marked += prog->inputs[i].role != TPCRT_ROLE_NONE;
        if (prog->inputs[i].dtype == TPCRT_I32) {
            i32++;
            only_i32 = i;
        }
    }
    for (int i = 0; i < prog->ninputs; i++)
        if (prog->inputs[i].role == role)
            return i;
    /* a program from before the compiler marked roles: its only i32 input holds the tokens */
    return marked == 0 && role == TPCRT_ROLE_TOKENS && i32 == 1 ? only_i32 : -1;
}

bool tpcrt_prompt_fills(const TpcrtProgram *prog, const TpcrtArgs *args, int input)
{
    if (args->nprompts == 0)
        return false;
    for (TpcrtInputRole role = TPCRT_ROLE_TOKENS; role <= TPCRT_ROLE_MASK; role++)
        if (tpcrt_prompt_input(prog, role) == input)
            return true;
    return false;
}

/* --prompt needs an input to fill, given by nothing else, and a tokenizer. */
static bool check_prompts(const Parse *p, char *err, size_t errlen)
{
    const TpcrtArgs *args = p->args;
    char names[TPCRT_ERROR_LEN / 2];
    if (args->tokenizer && args->nprompts == 0)
        return tpcrt_error(err, errlen, "--tokenizer: expected --prompt TEXT with it");
    if (args->nprompts == 0)
        return true;
    if (tpcrt_prompt_input(p->prog, TPCRT_ROLE_TOKENS) < 0)
        return tpcrt_error(err, errlen, "--prompt: expected a program with one input for token "
                           "ids (an i32 input marked as tokens, or the only i32 input), saw "
                           "inputs %s: give the ids with --input NAME=FILE.npy",
                           list_names(p->prog->inputs, p->prog->ninputs, names, sizeof names));
    for (int i = 0; i < p->prog->ninputs; i++)
        if (tpcrt_prompt_fills(p->prog, args, i) && args->input_paths[i])
            return tpcrt_error(err, errlen, "--prompt: input '%s' comes from the prompt, and "
                               "from --input too: give one of them", p->prog->inputs[i].name);
    if (!args->tokenizer && !args->weights)
        return tpcrt_error(err, errlen, "--prompt: expected --tokenizer FILE (with "
                           "--random-weights there is no checkpoint folder holding a "
                           "tokenizer.json)");
    return true;
}

static bool check_inputs(const Parse *p, char *err, size_t errlen)
{
    bool random_used = false;
    for (int i = 0; i < p->prog->ninputs; i++)
        random_used |= !p->args->input_paths[i] && !tpcrt_prompt_fills(p->prog, p->args, i);
    if (p->random_input_seen && !random_used)
        return tpcrt_error(err, errlen, "--random-input: every input is given by --input, so "
                           "there is nothing to make: leave --random-input out");
    for (int i = 0; i < p->prog->ninputs; i++) {
        const TpcrtTensorDecl *in = &p->prog->inputs[i];
        if (p->args->input_paths[i] || tpcrt_prompt_fills(p->prog, p->args, i))
            continue;
        if (!p->random_input_seen)
            return tpcrt_error(err, errlen, "input '%s': expected --input %s=FILE.npy or "
                               "--random-input SEED", in->name, in->name);
        for (int d = 0; d < in->ndim; d++)
            if (in->dim_names[d] && !dim_bound(p, in->dim_names[d]))
                return tpcrt_error(err, errlen, "--random-input: input '%s' needs "
                                   "--dim %s=N", in->name, in->dim_names[d]);
    }
    return true;
}

/* Two outputs written to one file: the same path, or two paths of one existing file. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return strcmp(a, b) == 0 || (stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
                                 sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

static bool check_outputs(const Parse *p, char *err, size_t errlen)
{
    const char *const *paths = p->args->output_paths;
    char shown[TPCRT_TEXT_LEN];
    for (int i = 0; i < p->prog->noutputs; i++)
        for (int j = 0; paths[i] && j < i; j++)
            if (paths[j] && same_file(paths[i], paths[j]))
                return tpcrt_error(err, errlen, "--output: outputs '%s' and '%s' would both be "
                                   "written to %s: give each its own file",
                                   p->prog->outputs[j].name, p->prog->outputs[i].name,
                                   tpcrt_escape(paths[i], shown, sizeof shown));
    return true;
}

/* The generation options need --generate, and a program that can generate. */
static bool check_generation(const Parse *p, char *err, size_t errlen)
{
    const TpcrtArgs *args = p->args;
    const char *needs = p->max_context_seen ? "--max-context"
                      : p->prefill_chunk_seen ? "--prefill-chunk" : p->eos_seen ? "--eos"
                      : p->temperature_seen ? "--temperature" : p->top_k_seen ? "--top-k"
                      : p->top_p_seen ? "--top-p" : p->seed_seen ? "--seed"
                      : args->tokens_output ? "--output tokens" : NULL;
    if (!p->generate_seen && needs)
        return tpcrt_error(err, errlen, "%s: expected --generate N with it", needs);
    if (!p->generate_seen)
        return true;
    if (p->prog->no_generation)
        return tpcrt_error(err, errlen, "--generate: %s", p->prog->no_generation);
    return true;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

/* argv[*i] and its value, which may be the next argument (then *i moves on to it). */
static bool parse_option(Parse *p, int argc, char **argv, int *i, char *err, size_t errlen)
{
    const char *arg = argv[*i], *value;
    const Option *opt = find_option(arg, &value);
    if (!opt)
        return tpcrt_error(err, errlen, "%s '%s'", arg[0] == '-' ? "unknown option" :
                           "expected an option, saw", arg);
    if (!opt->takes_value && value)
        return tpcrt_error(err, errlen, "%s: expected no value, saw '%s'", opt->name, arg);
    if (opt->takes_value && !value && *i + 1 == argc)
        return tpcrt_error(err, errlen, "%s: expected a value after it", opt->name);
    if (opt->takes_value && !value)
        value = argv[++*i];
    return opt->parse(p, opt->name, value, err, errlen);
}

TpcrtArgsStatus tpcrt_args_parse(int argc, char **argv, const TpcrtProgram *prog,
                                 TpcrtArgs *args, char *err, size_t errlen)
{
    *args = (TpcrtArgs){.threads = 1, .eos = -1, .top_p = 1.0};
    if (prog->ninputs > TPCRT_MAX_IO || prog->noutputs > TPCRT_MAX_IO) {
        snprintf(err, errlen, "internal error: %s declares more than %d inputs or outputs",
                 prog->name, TPCRT_MAX_IO);
        return TPCRT_ARGS_USAGE;
    }
    if (wants_help(argc, argv))
        return TPCRT_ARGS_HELP;
    Parse p = {.prog = prog, .args = args};
    for (int i = 1; i < argc; i++)
        if (!parse_option(&p, argc, argv, &i, err, errlen))
            return TPCRT_ARGS_USAGE;
    if (!check_weights(&p, err, errlen) || !check_prompts(&p, err, errlen) ||
        !check_inputs(&p, err, errlen) || !check_outputs(&p, err, errlen) ||
        !check_generation(&p, err, errlen))
        return TPCRT_ARGS_USAGE;
    return TPCRT_ARGS_OK;
}

/* ---- usage ----------------------------------------------------------------------------------- */

static void print_decls(FILE *out, const char *title, const TpcrtTensorDecl *decls, int n)
{
    char shape[TPCRT_SHAPE_LEN];
    fprintf(out, "%s", title);
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%s %s%s", i ? ", " : " ", decls[i].name, tpcrt_dtype_name(decls[i].dtype),
                tpcrt_decl_shape_string(shape, sizeof shape, &decls[i]));
    fprintf(out, "%s\n", n ? "" : " none");
}

void tpcrt_usage_print(FILE *out, const TpcrtProgram *prog)
{
    fprintf(out,
            "usage: mpirun -np %d %s (--weights PATH | --random-weights SEED)\n"
            "           (--input NAME=FILE.npy ... | --random-input SEED --dim NAME=N ...)\n"
            "           [--output NAME=FILE.npy ...] [--bench N] [--threads T] [--stats]\n"
            "           [--prompt TEXT ... [--tokenizer FILE]]\n"
            "           [--generate N [--max-context N] [--prefill-chunk N] [--eos ID]\n"
            "            [--temperature T] [--top-k K] [--top-p P] [--seed S]]\n",
            prog->tp, prog->name);
    print_decls(out, "inputs: ", prog->inputs, prog->ninputs);
    print_decls(out, "outputs:", prog->outputs, prog->noutputs);
    fprintf(out,
            "  --weights PATH          a .safetensors file, or a folder with model.safetensors\n"
            "                          or model.safetensors.index.json and its shards\n"
            "  --random-weights SEED   random weights, the same model at every -tp\n"
            "  --input NAME=FILE.npy   an input (NAME= may be left out when there is one)\n"
            "  --random-input SEED     random inputs; --dim NAME=N sets their dimensions\n"
            "  --output NAME=FILE.npy  write an output (rank 0 writes it)\n"
            "  --bench N               time N forwards after a warm-up\n"
            "  --threads T             BLAS threads per rank (default 1)\n"
            "  --stats                 per rank: weight bytes, bytes read, peak memory\n"
            "  --prompt TEXT           the token ids from text, through the tokenizer (repeat\n"
            "                          for a batch; rows of different lengths need a mask input)\n"
            "  --tokenizer FILE        a Hugging Face tokenizer.json (default: the one beside\n"
            "                          --weights)\n"
            "  --generate N            N new tokens per sequence after the prompt (the tokens\n"
            "                          input): a prefill, then decode steps on the KV cache;\n"
            "                          --output tokens=FILE.npy writes prompt and new ids,\n"
            "                          --output logits=FILE.npy the logits each id came from\n"
            "  --max-context N         KV cache positions per sequence (default: prompt + N)\n"
            "  --prefill-chunk N       the prompt's prefill N tokens a step (default: all at\n"
            "                          once): activations and scores sized for N, not the prompt\n"
            "  --eos ID                the id that ends a row (default: config.json's\n"
            "                          eos_token_id beside --weights, when there is one)\n"
            "  --temperature T         sample at temperature T (default 0: greedy)\n"
            "  --top-k K, --top-p P    sample among the K likeliest ids, or the fewest whose\n"
            "                          probabilities reach P\n"
            "  --seed S                the sampling seed: one seed, the same ids at every -tp\n"
            "  -h, --help              this text\n");
}
