build2/app/tui_save.o: app/tui_save.c app/tui_save.h app/session.h \
 core/ctx.h app/field.h app/canvas.h app/keys.h app/loom.h app/palette.h \
 core/smp.h app/worker.h app/cli.h core/tok.h
app/tui_save.h:
app/session.h:
core/ctx.h:
app/field.h:
app/canvas.h:
app/keys.h:
app/loom.h:
app/palette.h:
core/smp.h:
app/worker.h:
app/cli.h:
core/tok.h:
