build2/kernels/cpu/sgemm.o: kernels/cpu/sgemm.c kernels/cpu/sgemm.h
kernels/cpu/sgemm.h:
