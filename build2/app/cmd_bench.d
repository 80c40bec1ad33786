build2/app/cmd_bench.o: app/cmd_bench.c app/cmd_bench.h app/cli.h \
 core/ctx.h core/logits.h core/model.h app/modelpath.h \
 kernels/cpu/qtypes.h app/rng.h
app/cmd_bench.h:
app/cli.h:
core/ctx.h:
core/logits.h:
core/model.h:
app/modelpath.h:
kernels/cpu/qtypes.h:
app/rng.h:
