/* lower.h — what lower.c and lower_forward.c share while they build a Program. */
#ifndef TPC_LOWER_H
#define TPC_LOWER_H

#include "program.h"

#include <math.h>

typedef struct Lower {
    Graph *g;
    Program *p;
    Arena *a;
    int tp;
    Step **tail;        /* where the next step goes */
    const Op *op;       /* the statement being lowered: its first step carries the comment */
    bool op_started;
    Generation *gen;    /* lowering generation's step (lower_generate.c), not forward */
    Size *past;         /* the position of a step's first token: 0 in forward, gen's past */
    bool last_position; /* generation, after the layers: each sequence's last row only */
} Lower;

/* lower.c */
Size *dim_size(Lower *L, const Value *v, int d);
Size *dims_size(Lower *L, const Value *v, int from, int to);
Size *rows_size(Lower *L, const Value *v);
Size *cols_size(Lower *L, const Value *v);
Size *elements_size(Lower *L, const Value *v);
Size *ld_size(Lower *L, const Value *v);
Ref ref_of(Lower *L, const Value *v);
bool ref_equal(Ref a, Ref b);
int use_kernel(Lower *L, Kernel *k);
int split_table(Lower *L, const Value *v);
int range_table(Lower *L, const char *name, const Layout *l, int piece);

/* lower_forward.c */
void lower_forward(Lower *L);
void lower_steps(Lower *L, Step **list); /* forward's statements, into *list */

/* lower_generate.c: Program.generation, or Program.no_generation; the state it keeps */
void lower_generation(Lower *L);
int generation_cache(Lower *L, const Op *attention, const Value *kv); /* its StateField */
int generation_scores(Lower *L);

#endif /* TPC_LOWER_H */
