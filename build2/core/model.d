build2/core/model.o: core/model.c core/model_impl.h core/model.h \
 core/gguf.h core/fio.h kernels/cpu/qtypes.h core/tok.h
core/model_impl.h:
core/model.h:
core/gguf.h:
core/fio.h:
kernels/cpu/qtypes.h:
core/tok.h:
