build2/tests/test_session: tests/test_session.c tests/check.h \
 app/session.h core/ctx.h app/field.h app/canvas.h app/keys.h app/loom.h \
 app/palette.h core/smp.h app/worker.h core/store.h app/tui_store.h
tests/check.h:
app/session.h:
core/ctx.h:
app/field.h:
app/canvas.h:
app/keys.h:
app/loom.h:
app/palette.h:
core/smp.h:
app/worker.h:
core/store.h:
app/tui_store.h:
