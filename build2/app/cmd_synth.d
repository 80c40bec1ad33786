build2/app/cmd_synth.o: app/cmd_synth.c app/cmd_synth.h app/cli.h \
 core/gguf.h core/ggufw.h core/gguf.h app/modelpath.h core/pool.h \
 app/qplan.h kernels/cpu/qtypes.h app/rng.h app/vocabgen.h
app/cmd_synth.h:
app/cli.h:
core/gguf.h:
core/ggufw.h:
core/gguf.h:
app/modelpath.h:
core/pool.h:
app/qplan.h:
kernels/cpu/qtypes.h:
app/rng.h:
app/vocabgen.h:
