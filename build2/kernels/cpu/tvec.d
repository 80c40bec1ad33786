build2/kernels/cpu/tvec.o: kernels/cpu/tvec.c kernels/cpu/tvec.h \
 kernels/cpu/sgemm.h
kernels/cpu/tvec.h:
kernels/cpu/sgemm.h:
