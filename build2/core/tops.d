build2/core/tops.o: core/tops.c core/tops.h core/pool.h \
 kernels/cpu/sgemm.h kernels/cpu/tvec.h kernels/cpu/vecdot.h
core/tops.h:
core/pool.h:
kernels/cpu/sgemm.h:
kernels/cpu/tvec.h:
kernels/cpu/vecdot.h:
