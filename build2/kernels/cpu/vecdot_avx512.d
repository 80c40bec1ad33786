build2/kernels/cpu/vecdot_avx512.o: kernels/cpu/vecdot_avx512.c \
 kernels/cpu/vecdot.h kernels/cpu/qtypes.h
kernels/cpu/vecdot.h:
kernels/cpu/qtypes.h:
