build2/app/tui_cmdline.o: app/tui_cmdline.c app/tui_cmdline.h app/field.h \
 app/canvas.h app/keys.h app/hist.h app/palette.h app/pane.h \
 app/session.h core/ctx.h app/loom.h core/smp.h app/worker.h app/tui.h \
 app/tui_cmd.h
app/tui_cmdline.h:
app/field.h:
app/canvas.h:
app/keys.h:
app/hist.h:
app/palette.h:
app/pane.h:
app/session.h:
core/ctx.h:
app/loom.h:
core/smp.h:
app/worker.h:
app/tui.h:
app/tui_cmd.h:
