build2/app/tui_prompt.o: app/tui_prompt.c app/tui_prompt.h core/chat.h \
 app/palette.h app/pane.h app/canvas.h app/keys.h app/session.h \
 core/ctx.h app/field.h app/loom.h core/smp.h app/worker.h app/tui.h
app/tui_prompt.h:
core/chat.h:
app/palette.h:
app/pane.h:
app/canvas.h:
app/keys.h:
app/session.h:
core/ctx.h:
app/field.h:
app/loom.h:
core/smp.h:
app/worker.h:
app/tui.h:
