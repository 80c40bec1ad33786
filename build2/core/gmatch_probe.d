build2/core/gmatch_probe.o: core/gmatch_probe.c core/gmatch_impl.h \
 core/gmatch.h core/gram.h
core/gmatch_impl.h:
core/gmatch.h:
core/gram.h:
