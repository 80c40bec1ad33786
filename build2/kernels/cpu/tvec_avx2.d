build2/kernels/cpu/tvec_avx2.o: kernels/cpu/tvec_avx2.c \
 kernels/cpu/tvec.h
kernels/cpu/tvec.h:
