/* chat: wraps a prompt in a model's chat template (the workbench's chat
 * mode; the trainer's prompt/completion examples). GGUF files carry the
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
/* The family named name ("llama3", "chatml", "llama2", "gemma", "phi3",
 * "zephyr"), or CHAT_NONE. */
int chat_kind_named(const char *name);
/* What ends the assistant's turn in the family's layout (its end-of-turn
 * token, or EOS "</s>" where the template closes a turn with it); NULL
 * for CHAT_NONE. A chat-formatted training example is the user turn and the
 * assistant's header (chat_format), then the completion and this. */
const char *chat_turn_end(int kind);
/* A Jinja template source of the family (static; NULL for CHAT_NONE) in
 * chat_format's layout, for a GGUF's tokenizer.chat_template: what a model
 * trained on chat-formatted examples carries (chat_detect recognises it). */
const char *chat_template_source(int kind);

#endif
