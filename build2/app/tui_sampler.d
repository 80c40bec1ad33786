build2/app/tui_sampler.o: app/tui_sampler.c app/tui_sampler.h app/field.h \
 app/canvas.h app/keys.h app/palette.h app/pane.h app/session.h \
 core/ctx.h app/loom.h core/smp.h app/worker.h app/tui.h
app/tui_sampler.h:
app/field.h:
app/canvas.h:
app/keys.h:
app/palette.h:
app/pane.h:
app/session.h:
core/ctx.h:
app/loom.h:
core/smp.h:
app/worker.h:
app/tui.h:
