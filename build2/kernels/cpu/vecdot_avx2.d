build2/kernels/cpu/vecdot_avx2.o: kernels/cpu/vecdot_avx2.c \
 kernels/cpu/vecdot.h kernels/cpu/qtypes.h
kernels/cpu/vecdot.h:
kernels/cpu/qtypes.h:
