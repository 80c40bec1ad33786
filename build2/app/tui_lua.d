build2/app/tui_lua.o: app/tui_lua.c app/tui_lua.h app/keys.h lua/lhost.h \
 app/pdirs.h app/palette.h app/pane.h app/canvas.h app/tui.h \
 app/session.h core/ctx.h app/field.h app/loom.h core/smp.h app/worker.h \
 app/tui_console.h app/tui_layout.h app/tui_ws.h
app/tui_lua.h:
app/keys.h:
lua/lhost.h:
app/pdirs.h:
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
app/tui_console.h:
app/tui_layout.h:
app/tui_ws.h:
