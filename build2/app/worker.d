build2/app/worker.o: app/worker.c app/worker.h core/ctx.h app/loom.h \
 core/smp.h core/gmatch.h core/gram.h core/gram.h core/logits.h \
 core/model.h core/tok.h
app/worker.h:
core/ctx.h:
app/loom.h:
core/smp.h:
core/gmatch.h:
core/gram.h:
core/gram.h:
core/logits.h:
core/model.h:
core/tok.h:
