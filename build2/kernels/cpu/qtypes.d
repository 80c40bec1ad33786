build2/kernels/cpu/qtypes.o: kernels/cpu/qtypes.c kernels/cpu/qtypes.h
kernels/cpu/qtypes.h:
