build2/core/smp_mass.o: core/smp_mass.c core/smp_mass.h core/smp.h \
 kernels/cpu/vecdot.h
core/smp_mass.h:
core/smp.h:
kernels/cpu/vecdot.h:
