build2/kernels/cpu/vecdot.o: kernels/cpu/vecdot.c kernels/cpu/vecdot.h \
 kernels/cpu/qtypes.h
kernels/cpu/vecdot.h:
kernels/cpu/qtypes.h:
