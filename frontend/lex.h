/* lex.h — what the scanner and the parser share: the scanner's state. Private to frontend/. */
#ifndef TPC_LEX_H
#define TPC_LEX_H

#include "frontend.h"

typedef struct LexState {
    Arena *arena;
    const Source *src;
    Diag *diag;
    size_t offset;                     /* byte offset of the next token */
    int depth;                         /* open brackets */
    char open[TPC_MAX_NESTING];        /* which bracket, innermost last */
    Loc open_loc[TPC_MAX_NESTING];
    Module *module;                    /* what the parser builds */
    bool stopped;                      /* the scanner ended the input early (nesting limit) */
    Loc previous, current;             /* the last two tokens read */
} LexState;

int lex_string(LexState *ls, const char *text, size_t len, Loc loc, const char **out);
unsigned lex_code_point(const char *text, size_t len);
bool lex_open(LexState *ls, char c, Loc loc);
void lex_close(LexState *ls, char c);
void lex_forget_open(LexState *ls);
bool lex_starts_line(const LexState *ls, Loc loc);

#endif
