build2/app/tui_console.o: app/tui_console.c app/tui_console.h app/field.h \
 app/canvas.h app/keys.h app/hist.h lua/lhost.h app/palette.h app/pane.h \
 app/session.h core/ctx.h app/loom.h core/smp.h app/worker.h app/tui.h \
 app/vis.h
app/tui_console.h:
app/field.h:
app/canvas.h:
app/keys.h:
app/hist.h:
lua/lhost.h:
app/palette.h:
app/pane.h:
app/session.h:
core/ctx.h:
app/loom.h:
core/smp.h:
app/worker.h:
app/tui.h:
app/vis.h:
