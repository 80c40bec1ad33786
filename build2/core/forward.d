build2/core/forward.o: core/forward.c core/forward.h core/backend.h \
 core/kv.h core/model.h
core/forward.h:
core/backend.h:
core/kv.h:
core/model.h:
