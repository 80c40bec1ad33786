build2/app/tui_store.o: app/tui_store.c app/tui_store.h app/loom.h \
 app/smpjson.h core/json.h core/smp.h core/store.h
app/tui_store.h:
app/loom.h:
app/smpjson.h:
core/json.h:
core/smp.h:
core/store.h:
