build2/core/gguf.o: core/gguf.c core/gguf.h core/fio.h \
 kernels/cpu/qtypes.h core/strmap.h
core/gguf.h:
core/fio.h:
kernels/cpu/qtypes.h:
core/strmap.h:
