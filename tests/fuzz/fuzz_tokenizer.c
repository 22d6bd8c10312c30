/* fuzz_tokenizer — libFuzzer harness for runtime/tokenizer.c: the input is a tokenizer.json,
 * then a NUL byte, then text. A file that loads encodes the text (invalid UTF-8 must be refused,
 * not read past), decodes the ids it got, and decodes ids made from the text's bytes (negative,
 * past the vocabulary, special), so the loader, every normalizer, pre-tokenizer, model,
 * post-processor and decoder a file can name is reached. Always built with clang-14's
 * sanitizers, so the lit run is the same in both builds: it runs in the release one only.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t json_len = nul ? (size_t)(nul - data) : size;
    const char *text = nul ? (const char *)nul + 1 : "";
    size_t text_len = nul ? size - json_len - 1 : 0;
    char err[TPCRT_ERROR_LEN];
    TpcrtTokenizer *tok = tpcrt_tokenizer_parse(data, json_len, "fuzz.json", err, sizeof err);
    if (!tok)
        return 0;
    TpcrtEncoding enc;
    size_t len;
    if (tpcrt_tokenizer_encode(tok, text, text_len, &enc, err, sizeof err)) {
        free(tpcrt_tokenizer_decode(tok, enc.ids, enc.n, true, &len));
        free(tpcrt_tokenizer_decode(tok, enc.ids, enc.n, false, &len));
        tpcrt_encoding_free(&enc);
    }
    int64_t limit = tpcrt_tokenizer_vocab_size(tok) + 2;
    int32_t ids[64];
    int64_t n = 0;
    for (size_t i = 0; i + 1 < text_len && n < 64; i += 2)
        ids[n++] = (int32_t)(((uint8_t)text[i] << 8 | (uint8_t)text[i + 1]) % limit) - 1;
    free(tpcrt_tokenizer_decode(tok, ids, n, n % 2 == 0, &len));
    (void)tpcrt_tokenizer_pad_id(tok);
    tpcrt_tokenizer_free(tok);
    return 0;
}
