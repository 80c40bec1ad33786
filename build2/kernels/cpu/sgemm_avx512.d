build2/kernels/cpu/sgemm_avx512.o: kernels/cpu/sgemm_avx512.c \
 kernels/cpu/sgemm.h
kernels/cpu/sgemm.h:
