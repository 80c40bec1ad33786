/* chat: the chat-template families (see chat.h). Detection looks for the
 * control tokens each family's template must contain; the order matters
 * where families share markers (Zephyr and Phi-3 both use <|user|>). */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int chat_detect(const char *t) {
    if (!t || !*t) return CHAT_NONE;
    if (strstr(t, "<|start_header_id|>")) return CHAT_LLAMA3;
    if (strstr(t, "<|im_start|>")) return CHAT_CHATML;
    if (strstr(t, "<start_of_turn>")) return CHAT_GEMMA;
    if (strstr(t, "<|user|>") && strstr(t, "<|end|>")) return CHAT_PHI3;
    if (strstr(t, "<|user|>")) return CHAT_ZEPHYR;
    if (strstr(t, "[INST]")) return CHAT_LLAMA2;
    return CHAT_NONE;
}

const char *chat_name(int kind) {
    static const char *const names[] = { "none", "llama3", "chatml", "llama2", "gemma", "phi3", "zephyr" };
    return kind >= 0 && kind <= CHAT_ZEPHYR ? names[kind] : "none";
}

char *chat_format(int kind, const char *user) {
    const char *pre, *post;
    switch (kind) {
    case CHAT_LLAMA3:
        pre = "<|start_header_id|>user<|end_header_id|>\n\n";
        post = "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
        break;
    case CHAT_CHATML: pre = "<|im_start|>user\n"; post = "<|im_end|>\n<|im_start|>assistant\n"; break;
    case CHAT_LLAMA2: pre = "[INST] "; post = " [/INST]"; break;
    case CHAT_GEMMA: pre = "<start_of_turn>user\n"; post = "<end_of_turn>\n<start_of_turn>model\n"; break;
    case CHAT_PHI3: pre = "<|user|>\n"; post = "<|end|>\n<|assistant|>\n"; break;
    case CHAT_ZEPHYR: pre = "<|user|>\n"; post = "</s>\n<|assistant|>\n"; break;
    default: return NULL;
    }
    size_t n = strlen(pre) + strlen(user) + strlen(post) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s", pre, user, post);
    return s;
}

int chat_kind_named(const char *name) {
    for (int k = CHAT_LLAMA3; name && k <= CHAT_ZEPHYR; k++)
        if (strcmp(name, chat_name(k)) == 0) return k;
    return CHAT_NONE;
}

const char *chat_turn_end(int kind) {
    switch (kind) {
    case CHAT_LLAMA3: return "<|eot_id|>";
    case CHAT_CHATML: return "<|im_end|>";
    case CHAT_GEMMA: return "<end_of_turn>";
    case CHAT_PHI3: return "<|end|>";
    case CHAT_LLAMA2: case CHAT_ZEPHYR: return "</s>";
    default: return NULL;
    }
}

/* Jinja sources of the families, our own minimal templates with the layout
 * chat_format writes (system, user and assistant turns; the generation
 * prompt when asked). Each holds the literal markers chat_detect looks for,
 * so chat_detect(chat_template_source(k)) == k. */
const char *chat_template_source(int kind) {
    switch (kind) {
    case CHAT_LLAMA3:
        return "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
               "{{ m['content'] | trim }}<|eot_id|>{% endfor %}"
               "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";
    case CHAT_CHATML:
        return "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
               "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    case CHAT_LLAMA2:
        return "{% for m in messages %}{% if m['role'] == 'user' %}{{ bos_token }}[INST] {{ m['content'] }} [/INST]"
               "{% elif m['role'] == 'assistant' %}{{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}";
    case CHAT_GEMMA:
        return "{{ bos_token }}{% for m in messages %}<start_of_turn>"
               "{% if m['role'] == 'assistant' %}model{% else %}{{ m['role'] }}{% endif %}\n"
               "{{ m['content'] }}<end_of_turn>\n{% endfor %}"
               "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";
    case CHAT_PHI3:
        return "{% for m in messages %}{% if m['role'] == 'user' %}<|user|>\n{% elif m['role'] == 'assistant' %}"
               "<|assistant|>\n{% else %}<|system|>\n{% endif %}{{ m['content'] }}<|end|>\n{% endfor %}"
               "{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
    case CHAT_ZEPHYR:
        return "{% for m in messages %}{% if m['role'] == 'user' %}<|user|>\n{% elif m['role'] == 'assistant' %}"
               "<|assistant|>\n{% else %}<|system|>\n{% endif %}{{ m['content'] }}</s>\n{% endfor %}"
               "{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
    default: return NULL;
    }
}
