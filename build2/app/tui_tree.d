build2/app/tui_tree.o: app/tui_tree.c app/tui_tree.h app/loom.h \
 app/palette.h app/pane.h app/canvas.h app/keys.h app/session.h \
 core/ctx.h app/field.h core/smp.h app/worker.h app/tui.h app/vis.h
app/tui_tree.h:
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
