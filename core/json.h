/* json: a small DOM parser for JSON (RFC 8259), used for tokenizer.json, the
 * golden reference files and configs.
 *
 * json_parse returns a tree whose nodes and strings live in one arena owned
 * by the returned json_doc; json_free releases everything. Strings are
 * unescaped, UTF-8, NUL terminated, and carry their length (they may hold NUL).
 * Errors name the line and column.
 */
#ifndef JSON_H
#define JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

typedef struct json json;
struct json {
    int type;
    bool b;
    double num;
    const char *str; size_t len;   /* JSON_STR; also the key of an object member */
    const char *key; size_t klen;  /* set on members of an object */
    json *child;                   /* first element / member */
    json *next;                    /* next sibling */
    size_t n;                      /* number of children */
    size_t at;                     /* byte offset in the text where it starts (a member: its key) */
};

typedef struct json_doc json_doc;

/* Parses text[len]. On failure returns NULL and err holds "line L col C: problem". */
json_doc *json_parse(const char *text, size_t len, char *err, size_t errlen);
void json_free(json_doc *d);
json *json_root(json_doc *d);

/* Member of an object by key, NULL if absent or o is not an object. */
json *json_get(const json *o, const char *key);
/* i-th element of an array (O(i)), NULL if out of range. */
json *json_at(const json *a, size_t i);
/* Conveniences with defaults when absent or of another type. */
double json_num(const json *v, double dflt);
const char *json_str(const json *v, const char *dflt);
bool json_bool(const json *v, bool dflt);

/* Writes s[n] as a JSON string literal (with quotes) to out; returns the
 * length needed (out may be NULL to measure). Invalid UTF-8 bytes become
 * U+FFFD; control characters are escaped. */
size_t json_escape(const char *s, size_t n, char *out, size_t cap);
#endif
