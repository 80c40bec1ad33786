/* tok: tokenizers for Llama-family vocabularies.
 *
 * Two kinds: SentencePiece-style (GGUF tokenizer.ggml.model = "llama", and
 * llama2.c tokenizer.bin) and byte-level BPE (GGUF "gpt2", Llama 3, and
 * Hugging Face tokenizer.json). Both reproduce llama.cpp's llama_tokenize and
 * llama_detokenize exactly (the golden cases under shared/golden/tokenizer-*).
 *
 * Ownership: tok_* loaders return a new tok the caller destroys. The tok never
 * borrows from its source: a gguf may be closed after tok_from_gguf.
 * Buffers: functions that write ids or bytes into caller buffers return the
 * number needed; when that exceeds `cap` only `cap` were written and the caller
 * retries with a bigger buffer. Negative returns are TOK_E* codes.
 */
#ifndef TOK_H
#define TOK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gguf;
typedef struct tok tok;

enum tok_kind { TOK_SPM = 1, TOK_BPE = 2 };

/* Token attributes, numbered as GGUF tokenizer.ggml.token_type. */
enum tok_attr { TOK_NORMAL = 1, TOK_UNKNOWN = 2, TOK_CONTROL = 3,
                TOK_USER_DEFINED = 4, TOK_UNUSED = 5, TOK_BYTE = 6 };

/* The largest tokenizer file read (tokenizer.json, tokenizer_config.json,
 * a llama2.c tokenizer.bin): real ones are under 20 MB. */
#define TOK_MAX_FILE ((uint64_t)256 << 20)

enum { TOK_OK = 0, TOK_EIO = -1, TOK_EFORMAT = -2, TOK_ENOMEM = -3,
       TOK_EUTF8 = -4, TOK_EID = -5 };

/* Loaders. On failure *out is NULL and err says which file and what. */
int tok_from_gguf(tok **out, const struct gguf *g, char *err, size_t errlen);
int tok_from_llama2c(tok **out, const char *path, char *err, size_t errlen);
/* tokenizer.json; reads tokenizer_config.json beside it, if present, for the
 * BOS/EOS tokens and add_bos_token. */
int tok_from_hfjson(tok **out, const char *path, char *err, size_t errlen);
/* Any of the three, chosen by the file's content (GGUF magic, '{', else .bin). */
int tok_open(tok **out, const char *path, char *err, size_t errlen);
void tok_destroy(tok *t);

int tok_kind(const tok *t);
int32_t tok_n_vocab(const tok *t);
int32_t tok_bos(const tok *t);     /* -1 when the vocabulary has none */
int32_t tok_eos(const tok *t);
int32_t tok_eot(const tok *t);     /* end of turn (<|eot_id|>), or -1 */
int32_t tok_unk(const tok *t);
bool tok_add_bos(const tok *t);    /* the vocabulary's default for add_bos */
/* A list of token ids written as text, "bos,eos,13" (the names bos, eos,
 * eot and unk, or decimal ids below tok_n_vocab; "none" or "" is the empty
 * list): the end-tokens setting of gen, run, the workbench and lab. Writes
 * up to cap ids (duplicates dropped) and returns how many, or -1 with err
 * set (an unknown name, a name this vocabulary lacks, an id out of range,
 * more than cap). t NULL: the syntax alone is checked (names give -1). */
int32_t tok_parse_ids(const tok *t, const char *list, int32_t *ids, int32_t cap, char *err, size_t errlen);
int tok_attr(const tok *t, int32_t id);          /* TOK_NORMAL..., 0 for a bad id */
/* Raw vocabulary string of a token as stored (SPM "▁the", BPE "Ġthe"). */
const char *tok_text(const tok *t, int32_t id, size_t *len);
float tok_score(const tok *t, int32_t id);
/* Id of an exact vocabulary string, or -1. */
int32_t tok_find(const tok *t, const char *text, size_t len);

/* Text to ids. Invalid UTF-8 in text is refused with TOK_EUTF8 and err names
 * the byte offset. parse_special: control/user-defined token strings in the
 * text become those tokens. */
int32_t tok_encode(const tok *t, const char *text, size_t len, bool add_bos,
                   bool parse_special, int32_t *ids, int32_t cap,
                   char *err, size_t errlen);

/* Text that continues a sequence: as tok_encode without BOS and without
 * the SentencePiece dummy-prefix space before the first fragment (so
 * "a" + " time" gives the tokens of "a time", and a closing quote stays a
 * quote). A space prefix after a special token still applies. */
int32_t tok_encode_cont(const tok *t, const char *text, size_t len, bool parse_special,
                        int32_t *ids, int32_t cap, char *err, size_t errlen);

/* Bytes one token stands for, as llama_token_to_piece(lstrip=0): byte tokens
 * give their byte, "▁" gives a space, BPE bytes are unmapped; control tokens
 * give "" unless unparse_special. */
int32_t tok_piece(const tok *t, int32_t id, char *buf, int32_t cap, bool unparse_special);

/* Ids to text, as llama_detokenize(remove_special, unparse_special),
 * including its rule for the space that SPM encoding put first. */
int32_t tok_decode(const tok *t, const int32_t *ids, int32_t n, char *buf,
                   int32_t cap, bool remove_special, bool unparse_special);

/* Streaming detokenizer: push ids one at a time; it emits only complete UTF-8
 * characters and holds back a partial one until its remaining bytes arrive. */
typedef struct tok_stream {
    const tok *t;
    char pend[8];       /* bytes of an incomplete UTF-8 character */
    int npend;
    bool unparse_special;
} tok_stream;

void tok_stream_init(tok_stream *s, const tok *t, bool unparse_special);
/* Writes the complete characters now available; returns the bytes written
 * (out must hold at least tok_piece length + 8 bytes; 256 always suffices
 * for real vocabularies) or a negative TOK_E*. */
int32_t tok_stream_push(tok_stream *s, int32_t id, char *out, int32_t cap);
/* Emits what is held back, an incomplete character as U+FFFD. */
int32_t tok_stream_flush(tok_stream *s, char *out, int32_t cap);

#endif
