build2/app/qplan.o: app/qplan.c app/qplan.h kernels/cpu/qtypes.h
app/qplan.h:
kernels/cpu/qtypes.h:
