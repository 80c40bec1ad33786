build2/app/cmd_train.o: app/cmd_train.c app/cmd_train.h app/cli.h \
 app/modelpath.h core/store.h core/tgemm.h core/trun.h core/tmodel.h \
 core/train.h
app/cmd_train.h:
app/cli.h:
app/modelpath.h:
core/store.h:
core/tgemm.h:
core/trun.h:
core/tmodel.h:
core/train.h:
