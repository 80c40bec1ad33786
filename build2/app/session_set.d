build2/app/session_set.o: app/session_set.c app/session.h core/ctx.h \
 app/field.h app/canvas.h app/keys.h app/loom.h app/palette.h core/smp.h \
 app/worker.h core/gram.h core/logits.h
app/session.h:
core/ctx.h:
app/field.h:
app/canvas.h:
app/keys.h:
app/loom.h:
app/palette.h:
core/smp.h:
app/worker.h:
core/gram.h:
core/logits.h:
