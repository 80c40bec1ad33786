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

#define SMPJSON_CAP 8192    /* room for any smpjson_fmt output with an order of up to 256 bytes, plus a
                               bias and a grammar (smpjson_add_str) of the workbench's sizes */

/* The settings p (bias ignored) with stage order spec ("" or NULL = the
 * default chain) into buf; returns the length (>= cap: cut, as snprintf). */
int smpjson_fmt(const smp_params *p, const char *spec, char *buf, size_t cap);
/* Reads settings from a JSON object: members it lacks keep the defaults,
 * members it does not know are ignored. spec gets "" for the default chain.
 * 0, or -1 when text is not a JSON object (p and spec then hold defaults). */
int smpjson_parse(const char *text, smp_params *p, char *spec, size_t spec_cap);
/* Settings from an already parsed object (as smpjson_parse). */
void smpjson_get(const json *o, smp_params *p, char *spec, size_t spec_cap);
/* Appends "key":"val" (escaped) to the JSON object in buf (which ends with
 * '}'), canonically after the settings: the workbench records a node's
 * logit bias and grammar so ("bias", "grammar"; absent when none). Returns
 * the new length, or -1 when it does not fit in cap (buf unchanged). */
int smpjson_add_str(char *buf, size_t cap, const char *key, const char *val);
/* The shortest text that reads back as the same float (whole numbers
 * without a fraction; "null" for NaN and infinities), C locale. */
int smpjson_num(double v, char *buf, size_t cap);
/* json_parse in the C locale. */
json_doc *smpjson_doc(const char *text, size_t len, char *err, size_t errlen);

#endif
