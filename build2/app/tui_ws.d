build2/app/tui_ws.o: app/tui_ws.c app/tui_ws.h app/session.h core/ctx.h \
 app/field.h app/canvas.h app/keys.h app/loom.h app/palette.h core/smp.h \
 app/worker.h app/cli.h core/model.h core/sha256.h app/smpjson.h \
 core/json.h core/store.h app/tui_store.h
app/tui_ws.h:
app/session.h:
core/ctx.h:
app/field.h:
app/canvas.h:
app/keys.h:
app/loom.h:
app/palette.h:
core/smp.h:
app/worker.h:
app/cli.h:
core/model.h:
core/sha256.h:
app/smpjson.h:
core/json.h:
core/store.h:
app/tui_store.h:
