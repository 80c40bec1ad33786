build2/app/tui_cmd.o: app/tui_cmd.c app/tui_cmd.h lua/lhost.h \
 app/modelpath.h app/session.h core/ctx.h app/field.h app/canvas.h \
 app/keys.h app/loom.h app/palette.h core/smp.h app/worker.h app/tui.h \
 app/tui_lua.h app/tui_save.h app/tui_ws.h
app/tui_cmd.h:
lua/lhost.h:
app/modelpath.h:
app/session.h:
core/ctx.h:
app/field.h:
app/canvas.h:
app/keys.h:
app/loom.h:
app/palette.h:
core/smp.h:
app/worker.h:
app/tui.h:
app/tui_lua.h:
app/tui_save.h:
app/tui_ws.h:
