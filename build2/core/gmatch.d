build2/core/gmatch.o: core/gmatch.c core/gmatch.h core/gram.h \
 core/gmatch_impl.h core/smp.h
core/gmatch.h:
core/gram.h:
core/gmatch_impl.h:
core/smp.h:
