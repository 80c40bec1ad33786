/* tui_prompt: the prompt editor (see tui_prompt.h). Edit mode is the pane's
 * scope switching to SC_PROMPT_EDIT with text_input set, so the screen
 * manager sends it every printable key. */
#include "tui_prompt.h"

#include <stdio.h>
#include <stdlib.h>

#include "chat.h"
#include "palette.h"
#include "pane.h"
#include "session.h"
#include "tui.h"

typedef struct prompt_pane {
    struct tui *t;
} prompt_pane;

static void set_edit(pane *p, bool on) {
    p->text_input = on;
    p->scope = on ? SC_PROMPT_EDIT : SC_PROMPT;
}

void tui_prompt_edit(struct pane *p) { set_edit(p, true); }

static void toggle_chat(session *s) {
    if (s->chat_kind == CHAT_NONE) {
        s->chat = false;
        session_msg(s, SESS_WARN, "this model has no chat template");
        return;
    }
    s->chat = !s->chat;
    session_msg(s, SESS_INFO, "chat template (%s) %s", chat_name(s->chat_kind), s->chat ? "on" : "off");
}

static void prompt_draw(pane *p, const canvas_view *v, bool focused) {
    (void)focused;
    prompt_pane *o = p->ctx;
    session *s = tui_session(o->t);
    if (!p->text_input && field_text(&s->prompt)[0] == 0) {
        canvas_puts(v, 0, 0, PAL_DIM, "(empty: generation starts from BOS)  i: edit");
        return;
    }
    field_draw(&s->prompt, v, PAL_NORMAL, p->text_input);
    if (p->text_input && field_text(&s->prompt)[0] == 0 && v->w > 4)
        canvas_puts(v, 2, 0, PAL_DIM, "type a prompt;  Esc: done  C-g: generate");
}

static int prompt_key(pane *p, keys_code k, int action) {
    prompt_pane *o = p->ctx;
    session *s = tui_session(o->t);
    if (!p->text_input) {
        if (action == ACT_EDIT) { set_edit(p, true); return PANE_HANDLED | PANE_REDRAW; }
        if (action == ACT_CHAT) { toggle_chat(s); return PANE_HANDLED | PANE_REDRAW; }
        return PANE_IGNORED;
    }
    switch (action) {
    case ACT_LEAVE: set_edit(p, false); break;
    case ACT_RUN: set_edit(p, false); session_gen(s, -1); break;
    case ACT_CHAT: toggle_chat(s); break;
    default:
        if (!field_key(&s->prompt, action, k)) return PANE_HANDLED;   /* swallow: it is text mode */
        s->version++;
    }
    return PANE_HANDLED | PANE_REDRAW;
}

static int prompt_mouse(pane *p, int x, int y, int button) {
    (void)x; (void)y;
    if (button == PANE_CLICK && !p->text_input) set_edit(p, true);
    return PANE_HANDLED | PANE_REDRAW;
}

static void prompt_title(pane *p, char *buf, size_t cap) {
    prompt_pane *o = p->ctx;
    session *s = tui_session(o->t);
    const char *chat = s->chat ? " chat:on" : "";
    snprintf(buf, cap, "prompt%s%s", chat, p->text_input ? " editing (Esc: done, C-g: generate)" : "");
}

static void prompt_destroy(pane *p) { free(p->ctx); }

static const pane_iface prompt_iface = {
    "prompt", prompt_draw, prompt_key, prompt_mouse, NULL, prompt_title, prompt_destroy,
};

struct pane *tui_prompt_create(struct tui *t) {
    prompt_pane *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->t = t;
    return pane_create(&prompt_iface, o, t, SC_PROMPT);
}
