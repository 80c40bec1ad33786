build2/core/tfwd.o: core/tfwd.c core/tfwd.h core/tmodel.h core/pool.h \
 core/tgemm.h core/tops.h
core/tfwd.h:
core/tmodel.h:
core/pool.h:
core/tgemm.h:
core/tops.h:
