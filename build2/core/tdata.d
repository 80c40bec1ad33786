build2/core/tdata.o: core/tdata.c core/tdata.h core/chat.h core/json.h \
 core/sha256.h core/tok.h core/utf8.h
core/tdata.h:
core/chat.h:
core/json.h:
core/sha256.h:
core/tok.h:
core/utf8.h:
