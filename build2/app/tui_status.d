build2/app/tui_status.o: app/tui_status.c app/tui_status.h app/canvas.h \
 app/cli.h app/palette.h app/session.h core/ctx.h app/field.h app/keys.h \
 app/loom.h core/smp.h app/worker.h app/vis.h
app/tui_status.h:
app/canvas.h:
app/cli.h:
app/palette.h:
app/session.h:
core/ctx.h:
app/field.h:
app/keys.h:
app/loom.h:
core/smp.h:
app/worker.h:
app/vis.h:
