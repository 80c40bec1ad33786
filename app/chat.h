/* chat: wraps a prompt in a model's chat template. GGUF files carry the
 * template as Jinja source; rather than run Jinja, chat_detect recognises
 * the common families by their marker tokens and chat_format writes one
 * user turn and the assistant's header in that family's layout (the same
 * text llama.cpp's built-in templates produce for one user message, without
 * BOS, which the tokenizer adds).
 */
#ifndef CHAT_H
#define CHAT_H

enum chat_kind { CHAT_NONE = 0, CHAT_LLAMA3, CHAT_CHATML, CHAT_LLAMA2, CHAT_GEMMA, CHAT_PHI3, CHAT_ZEPHYR };

/* The family of a template source (NULL or unknown: CHAT_NONE). */
int chat_detect(const char *tmpl);
const char *chat_name(int kind);
/* A new string (the caller frees) with the user turn in the template, or
 * NULL for CHAT_NONE or when out of memory. */
char *chat_format(int kind, const char *user);

#endif
