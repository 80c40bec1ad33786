build2/core/ctx.o: core/ctx.c core/ctx.h core/backend.h core/kv.h \
 core/model.h core/forward.h core/pool.h
core/ctx.h:
core/backend.h:
core/kv.h:
core/model.h:
core/forward.h:
core/pool.h:
