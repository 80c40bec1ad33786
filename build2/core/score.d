build2/core/score.o: core/score.c core/score.h core/ctx.h core/logits.h \
 core/model.h
core/score.h:
core/ctx.h:
core/logits.h:
core/model.h:
