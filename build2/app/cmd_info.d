build2/app/cmd_info.o: app/cmd_info.c app/cmd_info.h app/cli.h \
 core/gguf.h core/model.h app/modelpath.h app/qplan.h \
 kernels/cpu/qtypes.h core/tok.h
app/cmd_info.h:
app/cli.h:
core/gguf.h:
core/model.h:
app/modelpath.h:
app/qplan.h:
kernels/cpu/qtypes.h:
core/tok.h:
