build2/core/train.o: core/train.c core/train.h core/tmodel.h core/adamw.h \
 core/pool.h core/tdata.h core/tfwd.h
core/train.h:
core/tmodel.h:
core/adamw.h:
core/pool.h:
core/tdata.h:
core/tfwd.h:
