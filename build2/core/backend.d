build2/core/backend.o: core/backend.c core/backend.h core/kv.h \
 core/model.h
core/backend.h:
core/kv.h:
core/model.h:
