build2/core/smp.o: core/smp.c core/smp.h core/logits.h core/smp_mass.h \
 kernels/cpu/vecdot.h
core/smp.h:
core/logits.h:
core/smp_mass.h:
kernels/cpu/vecdot.h:
