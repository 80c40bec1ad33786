build2/core/tgemm.o: core/tgemm.c core/tgemm.h \
 /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h \
 /usr/include/x86_64-linux-gnu/openblas-pthread/openblas_config.h \
 core/pool.h kernels/cpu/sgemm.h
core/tgemm.h:
/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h:
/usr/include/x86_64-linux-gnu/openblas-pthread/openblas_config.h:
core/pool.h:
kernels/cpu/sgemm.h:
