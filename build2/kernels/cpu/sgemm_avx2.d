build2/kernels/cpu/sgemm_avx2.o: kernels/cpu/sgemm_avx2.c \
 kernels/cpu/sgemm.h
kernels/cpu/sgemm.h:
