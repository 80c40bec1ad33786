build2/core/model_l2c.o: core/model_l2c.c core/model_impl.h core/model.h \
 core/fio.h kernels/cpu/qtypes.h core/tok.h
core/model_impl.h:
core/model.h:
core/fio.h:
kernels/cpu/qtypes.h:
core/tok.h:
