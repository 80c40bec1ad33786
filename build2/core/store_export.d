build2/core/store_export.o: core/store_export.c core/store.h core/json.h
core/store.h:
core/json.h:
