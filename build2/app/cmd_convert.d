build2/app/cmd_convert.o: app/cmd_convert.c app/cmd_convert.h app/cli.h \
 core/ggufw.h core/gguf.h core/model.h app/modelpath.h app/qplan.h \
 kernels/cpu/qtypes.h core/tok.h
app/cmd_convert.h:
app/cli.h:
core/ggufw.h:
core/gguf.h:
core/model.h:
app/modelpath.h:
app/qplan.h:
kernels/cpu/qtypes.h:
core/tok.h:
