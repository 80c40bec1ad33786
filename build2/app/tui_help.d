build2/app/tui_help.o: app/tui_help.c app/tui_help.h app/keys.h \
 app/palette.h app/pane.h app/canvas.h app/tui.h app/session.h core/ctx.h \
 app/field.h app/loom.h core/smp.h app/worker.h app/tui_cmd.h \
 app/tui_lua.h
app/tui_help.h:
app/keys.h:
app/palette.h:
app/pane.h:
app/canvas.h:
app/tui.h:
app/session.h:
core/ctx.h:
app/field.h:
app/loom.h:
core/smp.h:
app/worker.h:
app/tui_cmd.h:
app/tui_lua.h:
