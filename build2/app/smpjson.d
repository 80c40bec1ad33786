build2/app/smpjson.o: app/smpjson.c app/smpjson.h core/json.h core/smp.h
app/smpjson.h:
core/json.h:
core/smp.h:
