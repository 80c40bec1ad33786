/* The workbench's pure parts, without a terminal: token escaping (vis),
 * the cell grid (canvas), heat buckets and looks (palette), the key table
 * (keys), the branch tree and its layout (loom), pane geometry at many sizes
 * (tui_layout), token wrapping (tokwrap), text editing (field) and chat
 * templates (core/chat, in the library). The app modules are compiled in
 * here: tests link only the libraries, and these modules need nothing else. */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

#include "chat.h"
#include "../app/canvas.c"
#include "../app/field.c"
#include "../app/keys.c"
#include "../app/loom.c"
#include "../app/palette.c"
#include "../app/tokwrap.c"
#include "../app/tui_layout.c"
#include "../app/vis.c"

static const char *esc(const char *s, size_t n, unsigned flags) {
    static char buf[256];
    vis_escape(s, n, flags, buf, sizeof buf);
    return buf;
}

static void test_vis(void) {
    CHECK(!strcmp(esc(" hello", 6, VIS_SPACE), "\xE2\x90\xA3hello"), "space as ␣: %s", esc(" hello", 6, VIS_SPACE));
    CHECK(!strcmp(esc(" hello", 6, 0), " hello"), "space kept without VIS_SPACE");
    CHECK(!strcmp(esc("a\nb", 3, VIS_NL), "a\xE2\x86\xB5" "b"), "newline as ↵");
    CHECK(!strcmp(esc("a\nb", 3, 0), "a\nb"), "newline kept without VIS_NL");
    CHECK(!strcmp(esc("\t", 1, 0), "\xE2\x87\xA5"), "tab as ⇥");
    CHECK(!strcmp(esc("\x01", 1, 0), "\xE2\x90\x81"), "control as its picture ␁");
    CHECK(!strcmp(esc("\x7F", 1, 0), "\xE2\x90\xA1"), "DEL as ␡");
    CHECK(!strcmp(esc("\xE2", 1, 0), "\\xE2"), "a lone lead byte as \\xE2: %s", esc("\xE2", 1, 0));
    CHECK(!strcmp(esc("\xC3\xA9t\xC3\xA9", 5, 0), "\xC3\xA9t\xC3\xA9"), "valid UTF-8 kept");
    CHECK(!strcmp(esc("\xCC\x81", 2, 0), "\xE2\x97\x8C\xCC\x81"), "a lone combining mark sits on ◌");
    CHECK(!strcmp(esc(" a\n\\", 4, VIS_ASCII | VIS_SPACE | VIS_NL), "\\sa\\n\\\\"), "ASCII escapes: %s",
          esc(" a\n\\", 4, VIS_ASCII | VIS_SPACE | VIS_NL));
    CHECK(!strcmp(esc("\xC3\xA9", 2, VIS_ASCII), "\\u{E9}"), "ASCII mode: non-ASCII as \\u{}");
    CHECK(!strcmp(esc("\xC2\x85", 2, 0), "\\u{85}"), "C1 control as \\u{85}");
    char small[5];
    size_t n = vis_escape("  ", 2, VIS_SPACE, small, sizeof small);
    CHECK(n == 3 && !strcmp(small, "\xE2\x90\xA3"), "truncation keeps whole glyphs (%zu)", n);
    CHECK(vis_width("h\xC3\xA9llo", 6) == 5, "width of héllo");
    CHECK(vis_width("\xE6\x97\xA5\xE6\x9C\xAC", 6) == 4, "width of 日本");
    uint32_t cp;
    CHECK(vis_utf8_decode("\xF0\x9F\x98\x80", 4, &cp) == 4 && cp == 0x1F600, "4-byte decode");
    CHECK(vis_utf8_decode("\xC0\x80", 2, &cp) == 0, "overlong refused");
    CHECK(vis_utf8_decode("\xED\xA0\x80", 3, &cp) == 0, "surrogate refused");
}

static void row(const canvas *c, int y, char *buf, size_t cap) { canvas_row_text(c, y, buf, cap); }

static void test_canvas(void) {
    canvas c;
    char buf[256];
    CHECK(canvas_init(&c, 6, 2) == 0, "init");
    canvas_view v = canvas_full(&c);
    CHECK(canvas_puts(&v, 0, 0, 0, "ab\xE6\x97\xA5" "cd") == 6, "narrow + wide + narrow = 6 columns");
    row(&c, 0, buf, sizeof buf);
    CHECK(!strcmp(buf, "ab\xE6\x97\xA5" "cd"), "row text: %s", buf);
    CHECK(canvas_at(&c, 2, 0)->wide == 1 && canvas_at(&c, 3, 0)->wide == 2, "wide head and tail");
    canvas_putc(&v, 3, 0, 0, 'X');                 /* over the tail: the head becomes a space */
    row(&c, 0, buf, sizeof buf);
    CHECK(!strcmp(buf, "ab Xcd"), "overwriting a tail blanks the head: %s", buf);
    CHECK(canvas_putc(&v, 5, 1, 0, 0x65E5) == 1 && canvas_at(&c, 5, 1)->ch == ' ', "a wide char at the edge is a space");
    canvas_view s = canvas_sub(&v, 4, 1, 10, 10);
    CHECK(s.x == 4 && s.y == 1 && s.w == 2 && s.h == 1, "sub clipped: %d %d %d %d", s.x, s.y, s.w, s.h);
    CHECK(canvas_puts(&s, 0, 0, 0, "hello") == 2, "text clipped at the view's edge");
    canvas_view out = canvas_sub(&v, 9, 9, 3, 3);
    CHECK(out.w == 0 && out.h == 0 && canvas_putc(&out, 0, 0, 0, 'x') == 0, "a view outside draws nothing");
    CHECK(canvas_putc(&v, 0, 0, 0, 0x07) == 1 && canvas_at(&c, 0, 0)->ch == '?', "a control char draws as ?");
    CHECK(canvas_resize(&c, 3, 3) == 0 && c.w == 3 && canvas_at(&c, 2, 2)->ch == ' ', "resize blanks");
    canvas_fini(&c);
}

static void test_palette(void) {
    CHECK(palette_heat_prob(0.005) == 0 && palette_heat_prob(0.99) == 9 && palette_heat_prob(0.5) == 6, "prob buckets");
    CHECK(palette_heat_prob(NAN) == 0 && palette_heat_prob(1.0) == 9 && palette_heat_prob(0) == 0, "prob edges");
    CHECK(palette_heat_entropy(0) == 9 && palette_heat_entropy(5) == 0 && palette_heat_entropy(1.2) == 5, "entropy buckets (%d)",
          palette_heat_entropy(1.2));
    CHECK(palette_heat_rank(1) == 9 && palette_heat_rank(2) == 8 && palette_heat_rank(101) == 1 &&
          palette_heat_rank(5000) == 0 && palette_heat_rank(0) == 9, "rank buckets");
    int mono = 1;
    for (double p = 0, prev = -1; p <= 1.0001; p += 0.001) {
        int b = palette_heat_prob(p);
        if (b < prev) mono = 0;
        prev = b;
    }
    CHECK(mono, "prob buckets never decrease");
    pal_look m0 = palette_look(PAL_HEAT0, PAL_MONO), m9 = palette_look(PAL_HEAT0 + 9, PAL_MONO);
    CHECK((m0.attrs & PAL_F_BOLD) && (m0.attrs & PAL_F_UNDER) && m9.attrs == 0 && m0.fg < 0, "monochrome: attributes, no colour");
    CHECK(palette_look(PAL_HEAT0, PAL_256).fg == 196 && palette_look(PAL_HEAT0 + 9, PAL_8).fg == -1, "colour ramps");
    CHECK(palette_look(PAL_SELECT, PAL_MONO).attrs & PAL_F_REVERSE, "selection is reverse in monochrome");
    CHECK(palette_look(PAL_NORMAL | PAL_F_REVERSE, PAL_256).attrs & PAL_F_REVERSE, "flags add attributes");
    for (int k = 0; k < PAL_N_HEAT_KINDS; k++)
        for (int b = 0; b < PAL_N_HEAT; b++) CHECK(palette_heat_label(k, b)[0], "legend label %d/%d", k, b);
}

static void test_keys(void) {
    int n;
    const keys_binding *t = keys_table(&n);
    char name[32];
    for (int i = 0; i < n; i++) {
        keys_code k = keys_parse(t[i].key);
        CHECK(k != K_NONE, "table key '%s' parses", t[i].key);
        CHECK(!strcmp(keys_name(k, name, sizeof name), t[i].key), "'%s' round-trips (%s)", t[i].key, name);
        for (int j = 0; j < i; j++)
            CHECK(!(t[j].scope == t[i].scope && !strcmp(t[j].key, t[i].key)), "'%s' bound twice in scope %d", t[i].key, t[i].scope);
        bool first = true;
        for (int j = 0; j < i; j++) if (t[j].scope == t[i].scope && t[j].action == t[i].action) first = false;
        if (first) CHECK(t[i].help[0], "'%s' (first key of its action) has help", t[i].key);
        CHECK(keys_scope_title(t[i].scope)[0], "scope %d has a title", t[i].scope);
    }
    CHECK(keys_action(SC_GLOBAL, 's') == ACT_STEP && keys_action(SC_GLOBAL, K_ESC) == ACT_STOP, "global lookups");
    CHECK(keys_action(SC_INSPECT, K_ENTER) == ACT_PICK && keys_action(SC_TREE, 'd') == ACT_DELETE, "pane lookups");
    CHECK(keys_action(SC_OUTPUT, 's') == ACT_NONE, "no fallback inside keys_action");
    CHECK(keys_parse("C-a") == 1 && keys_parse("M-x") == ('x' | KEYS_ALT) && keys_parse("F12") == K_F12, "parse names");
    CHECK(keys_parse("C-i") == K_NONE && keys_parse("F13") == K_NONE && keys_parse("") == K_NONE && keys_parse("ab") == K_NONE,
          "bad names refused");
    CHECK(!strcmp(keys_name(' ', name, sizeof name), "Space") && !strcmp(keys_name(0xE9, name, sizeof name), "\xC3\xA9"), "names");
    CHECK(keys_is_text('a') && keys_is_text(0x65E5) && !keys_is_text(K_ENTER) && !keys_is_text(3) && !keys_is_text('a' | KEYS_ALT),
          "text keys");
    FILE *f = tmpfile();
    keys_print_markdown(f);
    long len = ftell(f);
    rewind(f);
    char *md = calloc(1, (size_t)len + 1);
    CHECK(md && fread(md, 1, (size_t)len, f) == (size_t)len, "markdown read back");
    fclose(f);
    if (md) {
        CHECK(strstr(md, "| `s` | step: generate one token |") != NULL, "markdown row for s");
        CHECK(strstr(md, "| `Left` `h` | cursor to the previous token |") != NULL, "keys of one action share a row");
        CHECK(strstr(md, "### Branch tree") != NULL, "a section per scope");
    }
    free(md);
}

static loom_tok tk(int32_t id) {
    loom_tok t;
    memset(&t, 0, sizeof t);
    t.id = id;
    return t;
}

static int dropped;
static void on_drop(void *ud, int32_t seq) { (void)ud; dropped += seq; }

static void test_loom(void) {
    loom l;
    loom_init(&l);
    int32_t r = loom_add_root(&l, "Once", false);
    for (int i = 0; i < 5; i++) { loom_tok t = tk(10 + i); loom_append(&l, r, &t); }
    int32_t a = loom_add_child(&l, r, LOOM_GEN);
    for (int i = 0; i < 4; i++) { loom_tok t = tk(20 + i); loom_append(&l, a, &t); }
    CHECK(loom_end(&l, r) == 5 && loom_end(&l, a) == 9 && l.nodes[a].pos0 == 5, "ends and pos0");
    l.nodes[a].seq = 7;
    int32_t shared;
    CHECK(loom_find_seq(&l, r, &shared) == 7 && shared == 5, "a descendant's seq serves the root (%d)", shared);
    int32_t tail = loom_split(&l, a, 2);            /* a: 20 21 | tail: 22 23 */
    CHECK(tail > a && l.nodes[a].n == 2 && l.nodes[tail].n == 2 && l.nodes[tail].pos0 == 7, "split");
    CHECK(l.nodes[tail].seq == 7 && l.nodes[a].seq == -1 && l.nodes[tail].parent == a, "the tail keeps the seq");
    CHECK(loom_split(&l, a, 2) == a && loom_split(&l, a, 0) < 0, "split at the end is a no-op, at 0 refused");
    int32_t b = loom_add_child(&l, a, LOOM_PICK);
    { loom_tok t = tk(99); loom_append(&l, b, &t); }
    int32_t ids[16];
    CHECK(loom_path_ids(&l, b, ids, 16) == 8 && ids[4] == 14 && ids[6] == 21 && ids[7] == 99, "path ids through the split");
    CHECK(loom_tok_at(&l, tail, 8)->id == 23 && loom_node_at(&l, tail, 3) == r && loom_node_at(&l, b, 9) == -1, "positions");
    CHECK(loom_find_seq(&l, b, &shared) == 7 && shared == 7, "a sibling's seq shares the parent's prefix (%d)", shared);
    CHECK(loom_is_ancestor(&l, r, b) && !loom_is_ancestor(&l, tail, b), "ancestry");
    loom_touch_path(&l, b);
    CHECK(loom_follow(&l, r) == b, "follow the last visited path");
    loom_row rows[16];
    CHECK(loom_layout(&l, rows, 16) == 4, "four rows");
    CHECK(rows[0].node == r && rows[1].node == a && rows[2].node == tail && rows[3].node == b, "depth-first, oldest first");
    char g[64];
    loom_guide(&rows[2], false, 0, g, sizeof g);
    CHECK(!strcmp(g, "   \xE2\x94\x9C\xE2\x94\x80 "), "guide of a middle child: '%s'", g);
    loom_guide(&rows[3], true, 0, g, sizeof g);
    CHECK(!strcmp(g, "   `- "), "ASCII guide of a last child: '%s'", g);
    loom_guide(&rows[0], false, 0, g, sizeof g);
    CHECK(!strcmp(g, ""), "a root has no guide");
    CHECK(loom_set_label(&l, b, "mine") == 0 && !strcmp(l.nodes[b].label, "mine"), "label");
    loom_set_label(&l, b, "");
    CHECK(l.nodes[b].label == NULL, "empty label clears");
    l.nodes[b].seq = 3;
    dropped = 0;
    CHECK(loom_del(&l, a, on_drop, NULL) == 3 && dropped == 10, "delete a subtree drops its seqs (%d)", dropped);
    CHECK(!loom_get(&l, b) && loom_get(&l, r) && l.nodes[r].n_kids == 0 && l.n_alive == 1, "only the root is left");
    int32_t r2 = loom_add_root(&l, "Two", true);
    CHECK(r2 > b && loom_layout(&l, rows, 16) == 2 && rows[1].node == r2, "ids are never reused; roots in order");
    CHECK(loom_stage_kind("top_p") == 5 && !strcmp(loom_stage_name(loom_stage_kind("nope")), "custom"), "stage names");
    loom_fini(&l);
}

static bool overlap(tui_rect a, tui_rect b) {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

static void test_layout(void) {
    int bad = 0, cases = 0;
    for (int w = 40; w <= 230; w += 7)
        for (int h = 10; h <= 75; h += 3)
            for (int focus = 0; focus < 8; focus++) {
                tui_layout_in in = { w, h, 8, focus, -1, PANE_TREE, PANE_INSPECT, 1 + focus };
                tui_layout_out o;
                tui_layout(&in, &o);
                cases++;
                if (o.too_small || o.status.y != h - 1) { bad++; continue; }
                for (int i = 0; i < 8; i++) {
                    if (!o.shown[i]) continue;
                    tui_rect r = o.pane[i];
                    if (r.x < 0 || r.y < 0 || r.x + r.w > w || r.y + r.h > h - 1 || r.w < 3 || r.h < 3) bad++;
                    for (int j = 0; j < i; j++) if (o.shown[j] && overlap(r, o.pane[j])) bad++;
                }
                if (!o.shown[PANE_OUTPUT] || !o.shown[PANE_PROMPT] || !o.shown[o.slot]) bad++;
                if (tui_layout_in_slot(focus, o.narrow) && o.slot != focus) bad++;
            }
    CHECK(bad == 0, "%d of %d layouts inside the screen, without overlap, focus visible", bad, cases);
    tui_layout_in in = { 39, 30, 6, 1, -1, PANE_TREE, PANE_INSPECT, 1 };
    tui_layout_out o;
    tui_layout(&in, &o);
    CHECK(o.too_small, "39 columns is too small");
    in.w = 80; in.h = 9;
    tui_layout(&in, &o);
    CHECK(o.too_small, "9 rows is too small");
    in.h = 24; in.zoom = PANE_TREE;
    tui_layout(&in, &o);
    CHECK(o.shown[PANE_TREE] && !o.shown[PANE_OUTPUT] && o.pane[PANE_TREE].w == 80 && o.pane[PANE_TREE].h == 23, "zoom");
    in.zoom = -1;
    tui_layout(&in, &o);
    CHECK(!o.narrow && o.shown[PANE_INSPECT] && o.shown[PANE_CONSOLE] && o.shown[PANE_TREE] && !o.shown[PANE_SAMPLER], "80x24 wide");
    in.w = 60; in.h = 20;
    tui_layout(&in, &o);
    CHECK(o.narrow && o.shown[PANE_INSPECT] && !o.shown[PANE_TREE], "60x20 narrow: inspector in the slot");
    tui_rect inner = tui_layout_inner((tui_rect){ 2, 3, 10, 5 });
    CHECK(inner.x == 3 && inner.y == 4 && inner.w == 8 && inner.h == 3, "inner rect");
}

static const char *const words[] = { "<s>", " Once", " upon", " a", " time", ",", " there", " were", " bo", "ats", "\n", "A", "\xE6\x97\xA5\xE6\x9C\xAC", "" };
#define N_WORDS ((int32_t)(sizeof words / sizeof words[0]))

static int32_t piece(void *ud, int32_t i, char *buf, int32_t cap) {
    const char *const *w = ud;
    int32_t n = (int32_t)strlen(w[i]);
    if (n > cap) n = cap;
    memcpy(buf, w[i], (size_t)n);
    return n;
}

typedef struct grid { char cell[8][16][8]; bool tail[8][16]; int w; } grid;

static void glyph(void *ud, int32_t i, int32_t r, int c, uint32_t cp, int cw, bool marker) {
    (void)i; (void)marker;
    grid *g = ud;
    if (r < 8 && c < 16) g->cell[r][c][vis_utf8_encode(cp, g->cell[r][c])] = 0;
    if (cw == 2 && r < 8 && c + 1 < 16) g->tail[r][c + 1] = true;
}

static void grid_row(const grid *g, int r, char *buf) {
    buf[0] = 0;
    for (int c = 0; c < g->w; c++)
        if (!g->tail[r][c]) strcat(buf, g->cell[r][c][0] ? g->cell[r][c] : " ");
    for (size_t n = strlen(buf); n && buf[n - 1] == ' ';) buf[--n] = 0;
}

static void test_tokwrap(void) {
    int32_t row_of[N_WORDS], col_of[N_WORDS];
    grid g;
    memset(&g, 0, sizeof g);
    g.w = 12;
    int32_t rows = tokwrap_walk(N_WORDS, 12, false, piece, (void *)words, glyph, &g, row_of, col_of);
    char r[256];
    grid_row(&g, 0, r);
    CHECK(!strcmp(r, "<s> Once"), "row 0: '%s'", r);
    grid_row(&g, 1, r);
    CHECK(!strcmp(r, "upon a time,"), "row 1 (the leading space hangs): '%s'", r);
    grid_row(&g, 2, r);
    CHECK(!strcmp(r, "there were"), "row 2: '%s'", r);
    grid_row(&g, 3, r);
    CHECK(!strcmp(r, "boats\xE2\x86\xB5"), "a word of two tokens wraps whole, newline as ↵: '%s'", r);
    grid_row(&g, 4, r);
    CHECK(!strcmp(r, "A\xE6\x97\xA5\xE6\x9C\xAC\xE2\x88\x85"), "after the newline; wide chars; ∅ for an empty token: '%s'", r);
    CHECK(rows == 5, "5 rows (%d)", rows);
    CHECK(row_of[1] == 0 && col_of[1] == 3 && row_of[2] == 0 && row_of[8] == 2 && col_of[8] == 10 && col_of[9] == 2 &&
          row_of[11] == 4, "token positions: %d %d %d %d %d %d %d", row_of[1], col_of[1], row_of[2], row_of[8], col_of[8],
          col_of[9], row_of[11]);
    /* a token wider than the row breaks by character */
    const char *const longw[] = { "abcdefghij" };
    memset(&g, 0, sizeof g);
    g.w = 4;
    CHECK(tokwrap_walk(1, 4, false, piece, (void *)longw, glyph, &g, NULL, NULL) == 3, "10 chars at width 4: 3 rows");
    grid_row(&g, 2, r);
    CHECK(!strcmp(r, "ij"), "the last piece: '%s'", r);
    /* CJK text has no spaces: rows fill up to the edge, a wide char is never split */
    const char *const zh[] = { "\xE9\x95\xBF", "\xE6\xB2\x99", "\xE4\xB8\x87\xE9\x87\x8C", "\xEF\xBC\x8C", "\xE7\x9F\xB3", "<unk>", "\xE7\x99\xBE" };
    memset(&g, 0, sizeof g);
    g.w = 7;
    int32_t zr[7], zc[7];
    CHECK(tokwrap_walk(7, 7, false, piece, (void *)zh, glyph, &g, zr, zc) == 4, "Chinese at width 7: 4 rows");
    grid_row(&g, 0, r);
    CHECK(!strcmp(r, "\xE9\x95\xBF\xE6\xB2\x99"), "row 0: two wide chars, the two-char token does not fit: '%s'", r);
    grid_row(&g, 1, r);
    CHECK(!strcmp(r, "\xE4\xB8\x87\xE9\x87\x8C\xEF\xBC\x8C"), "row 1 holds three wide chars (6 of 7 columns): '%s'", r);
    grid_row(&g, 2, r);
    CHECK(!strcmp(r, "\xE7\x9F\xB3<unk>"), "row 2: a narrow token after a wide char is a word of its own: '%s'", r);
    CHECK(zr[4] == 2 && zc[4] == 0 && zr[5] == 2 && zc[5] == 2 && zr[6] == 3 && zc[6] == 0,
          "token positions: %d/%d %d/%d %d/%d", zr[4], zc[4], zr[5], zc[5], zr[6], zc[6]);
    const char *const ctl[] = { "a\x01\xFF" };
    memset(&g, 0, sizeof g);
    g.w = 16;
    tokwrap_walk(1, 16, true, piece, (void *)ctl, glyph, &g, NULL, NULL);
    grid_row(&g, 0, r);
    CHECK(!strcmp(r, "a\\x01\\xFF"), "ASCII escapes of control and bad bytes: '%s'", r);
}

static void test_field(void) {
    field f;
    field_init(&f, true);
    field_set(&f, "h\xC3\xA9llo");
    field_key(&f, ACT_LEFT, K_NONE);
    field_key(&f, ACT_LEFT, K_NONE);
    field_key(&f, ACT_LEFT, K_NONE);
    field_key(&f, ACT_BACKSPACE, K_NONE);               /* removes é (two bytes) */
    CHECK(!strcmp(field_text(&f), "hllo") && f.cur == 1, "backspace a two-byte char: '%s' %zu", field_text(&f), f.cur);
    field_key(&f, ACT_NONE, 0x65E5);
    CHECK(!strcmp(field_text(&f), "h\xE6\x97\xA5llo"), "insert a wide char");
    field_key(&f, ACT_END, K_NONE);
    field_key(&f, ACT_NEWLINE, K_NONE);
    field_insert(&f, "ab", 2);
    field_key(&f, ACT_UP, K_NONE);                      /* column 2 is inside 日: before it */
    CHECK(f.cur == 1, "up by display column: %zu", f.cur);
    field_key(&f, ACT_DOWN, K_NONE);
    CHECK(f.cur == 9, "down to column 1 of the next line: %zu", f.cur);
    field_key(&f, ACT_KILL_START, K_NONE);
    CHECK(!strcmp(field_text(&f), "h\xE6\x97\xA5llo\nb"), "kill to the line start: '%s'", field_text(&f));
    CHECK(field_rows(&f, 3) == 3, "rows at width 3 (%d)", field_rows(&f, 3));
    CHECK(!field_key(&f, ACT_NONE, K_F1), "F1 is not text");
    canvas c;
    canvas_init(&c, 4, 2);
    canvas_view v = canvas_full(&c);
    field_set(&f, "abcdefgh");
    field_draw(&f, &v, 0, true);
    CHECK(f.scroll == 1, "multi-line scrolls to the cursor's row (%d)", f.scroll);
    field_fini(&f);
    field_init(&f, false);
    field_set(&f, "abcdefgh");
    field_draw(&f, &v, 0, true);
    char buf[64];
    canvas_row_text(&c, 0, buf, sizeof buf);
    CHECK(!strcmp(buf, "fgh ") && (canvas_at(&c, 3, 0)->style & PAL_F_REVERSE), "one line scrolls sideways: '%s'", buf);
    field_fini(&f);
    canvas_fini(&c);
}

static void test_chat(void) {
    CHECK(chat_detect("{{ '<|start_header_id|>' }}") == CHAT_LLAMA3 && chat_detect("<|im_start|>") == CHAT_CHATML, "detect");
    CHECK(chat_detect("[INST]") == CHAT_LLAMA2 && chat_detect(NULL) == CHAT_NONE && chat_detect("plain") == CHAT_NONE, "detect more");
    char *s = chat_format(CHAT_CHATML, "hi");
    CHECK(s && !strcmp(s, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"), "chatml turn");
    free(s);
    CHECK(chat_format(CHAT_NONE, "hi") == NULL, "no template, no text");
}

int main(void) {
    setlocale(LC_ALL, "C.UTF-8");
    test_vis();
    test_canvas();
    test_palette();
    test_keys();
    test_loom();
    test_layout();
    test_tokwrap();
    test_field();
    test_chat();
    return check_done();
}
