build2/tests/test_ctx: tests/test_ctx.c tests/check.h core/ctx.h \
 core/model.h
tests/check.h:
core/ctx.h:
core/model.h:
