build2/app/tui_inspect.o: app/tui_inspect.c app/tui_inspect.h app/loom.h \
 app/palette.h app/pane.h app/canvas.h app/keys.h app/session.h \
 core/ctx.h app/field.h core/smp.h app/worker.h app/tui.h app/vis.h
app/tui_inspect.h:
app/loom.h:
app/palette.h:
app/pane.h:
app/canvas.h:
app/keys.h:
app/session.h:
core/ctx.h:
app/field.h:
core/smp.h:
app/worker.h:
app/tui.h:
app/vis.h:
