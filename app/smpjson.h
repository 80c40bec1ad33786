/* smpjson: the sampler settings as JSON, the way the workbench records them
 * (a node's settings in the tree and the workspace, the session's current
 * ones in its saved state), and the two C-locale helpers that JSON needs.
 *
 * The form is canonical: the same settings always give the same bytes, so
 * two settings compare equal as strings. Keys: temp, top_k, top_p, min_p,
 * typical, min_keep, repeat_penalty, repeat_last_n, frequency_penalty,
 * presence_penalty, seed (a string when above 2^53, where JSON numbers stop
 * being exact), order (the stage list; the default chain spelled out).
 *
 * Numbers are written and read in the C locale whatever setlocale chose
 * (the workbench calls setlocale(LC_ALL, "") for wide characters, and a
 * locale with a decimal comma would make "0,8").
 */
#ifndef SMPJSON_H
#define SMPJSON_H
#include <stddef.h>

#include "json.h"
#include "smp.h"

#define SMPJSON_CAP 1024    /* room for any smpjson_fmt output with an order of up to 256 bytes */

/* The settings p (bias ignored) with stage order spec ("" or NULL = the
 * default chain) into buf; returns the length (>= cap: cut, as snprintf). */
int smpjson_fmt(const smp_params *p, const char *spec, char *buf, size_t cap);
/* Reads settings from a JSON object: members it lacks keep the defaults,
 * members it does not know are ignored. spec gets "" for the default chain.
 * 0, or -1 when text is not a JSON object (p and spec then hold defaults). */
int smpjson_parse(const char *text, smp_params *p, char *spec, size_t spec_cap);
/* Settings from an already parsed object (as smpjson_parse). */
void smpjson_get(const json *o, smp_params *p, char *spec, size_t spec_cap);
/* The shortest text that reads back as the same float (whole numbers
 * without a fraction; "null" for NaN and infinities), C locale. */
int smpjson_num(double v, char *buf, size_t cap);
/* json_parse in the C locale. */
json_doc *smpjson_doc(const char *text, size_t len, char *err, size_t errlen);
/* A grammar ("KIND VALUE", see gram_from_option) is recorded beside the
 * settings it was generated with as a "grammar" member: add appends it to
 * the object in buf (nothing when grammar is empty or it does not fit);
 * get reads it from an object ("" when absent or too long). */
void smpjson_add_grammar(char *buf, size_t cap, const char *grammar);
void smpjson_get_grammar(const json *o, char *out, size_t cap);

#endif
