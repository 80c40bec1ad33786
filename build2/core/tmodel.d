build2/core/tmodel.o: core/tmodel.c core/tmodel.h core/gguf.h \
 core/ggufw.h core/model.h kernels/cpu/qtypes.h core/tok.h
core/tmodel.h:
core/gguf.h:
core/ggufw.h:
core/model.h:
kernels/cpu/qtypes.h:
core/tok.h:
