build2/app/cmd_tui.o: app/cmd_tui.c app/cmd_tui.h app/cli.h app/keys.h \
 app/modelpath.h core/store.h app/tui.h app/session.h core/ctx.h \
 app/field.h app/canvas.h app/loom.h app/palette.h core/smp.h \
 app/worker.h
app/cmd_tui.h:
app/cli.h:
app/keys.h:
app/modelpath.h:
core/store.h:
app/tui.h:
app/session.h:
core/ctx.h:
app/field.h:
app/canvas.h:
app/loom.h:
app/palette.h:
core/smp.h:
app/worker.h:
