build2/core/trun.o: core/trun.c core/trun.h core/tmodel.h core/train.h \
 core/chat.h core/gguf.h core/json.h core/model.h core/pool.h \
 core/sha256.h core/store.h core/tdata.h core/tgemm.h core/tok.h
core/trun.h:
core/tmodel.h:
core/train.h:
core/chat.h:
core/gguf.h:
core/json.h:
core/model.h:
core/pool.h:
core/sha256.h:
core/store.h:
core/tdata.h:
core/tgemm.h:
core/tok.h:
