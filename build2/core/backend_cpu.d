build2/core/backend_cpu.o: core/backend_cpu.c core/backend.h core/kv.h \
 core/model.h core/pool.h kernels/cpu/qtypes.h kernels/cpu/vecdot.h
core/backend.h:
core/kv.h:
core/model.h:
core/pool.h:
kernels/cpu/qtypes.h:
kernels/cpu/vecdot.h:
