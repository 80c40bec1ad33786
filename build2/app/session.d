build2/app/session.o: app/session.c app/session.h core/ctx.h app/field.h \
 app/canvas.h app/keys.h app/loom.h app/palette.h core/smp.h app/worker.h \
 core/chat.h core/model.h app/smpjson.h core/json.h core/tok.h app/vis.h
app/session.h:
core/ctx.h:
app/field.h:
app/canvas.h:
app/keys.h:
app/loom.h:
app/palette.h:
core/smp.h:
app/worker.h:
core/chat.h:
core/model.h:
app/smpjson.h:
core/json.h:
core/tok.h:
app/vis.h:
