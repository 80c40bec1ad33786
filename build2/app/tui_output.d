build2/app/tui_output.o: app/tui_output.c app/tui_output.h app/loom.h \
 app/palette.h app/pane.h app/canvas.h app/keys.h app/session.h \
 core/ctx.h app/field.h core/smp.h app/worker.h app/tui.h \
 app/tui_layout.h app/tokwrap.h app/vis.h
app/tui_output.h:
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
app/tui_layout.h:
app/tokwrap.h:
app/vis.h:
