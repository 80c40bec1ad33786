build2/app/cmd_quantize.o: app/cmd_quantize.c app/cmd_quantize.h \
 app/cli.h app/cmd_convert.h core/gguf.h core/ggufw.h core/gguf.h \
 app/modelpath.h core/pool.h app/qplan.h kernels/cpu/qtypes.h
app/cmd_quantize.h:
app/cli.h:
app/cmd_convert.h:
core/gguf.h:
core/ggufw.h:
core/gguf.h:
app/modelpath.h:
core/pool.h:
app/qplan.h:
kernels/cpu/qtypes.h:
