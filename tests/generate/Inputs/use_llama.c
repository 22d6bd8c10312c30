/* A serving program's view of the model: links libllama.a (tpc's llama at any -tp) through
 * llama.h, with MPI its own. Random weights (seed 1), two prompts of 5 ids: one forward, whose
 * logits rank 0 writes raw to argv[1]; then 8 greedy ids per row through prefill and decode,
 * printed as the command line prints a batch ("row 0: ..."). argv[2], when given, is the
 * prefill's chunk (options.prefill_chunk). */
#include "llama.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    llama_options options = {.random_weights = 1, .prefill_chunk = argc > 2 ? atoll(argv[2]) : 0};
    llama_model *m = llama_init(MPI_COMM_WORLD, NULL, &options);

    enum { BATCH = 2, SEQ = 5, NEW = 8, VOCAB = 301 };
    const int32_t tokens[BATCH * SEQ] = {1, 5, 9, 200, 3, 7, 7, 8, 9, 10};
    static float logits[BATCH * SEQ * VOCAB];
    const void *inputs[] = {tokens};
    float *outputs[] = {logits};
    llama_forward(m, inputs, (int64_t[]){BATCH, SEQ}, outputs);
    if (rank == 0) {
        FILE *f = fopen(argv[1], "wb");
        fwrite(logits, sizeof logits, 1, f);
        fclose(f);
    }

    int32_t ids[NEW][BATCH];
    llama_prefill(m, tokens, BATCH, SEQ, SEQ + NEW, ids[0]);
    for (int t = 1; t < NEW; t++)
        llama_decode(m, ids[t - 1], ids[t]);
    for (int b = 0; rank == 0 && b < BATCH; b++) {
        printf("row %d:", b);
        for (int t = 0; t < NEW; t++)
            printf(" %d", ids[t][b]);
        printf("\n");
    }
    llama_free(m);
    MPI_Finalize();
    return 0;
}
