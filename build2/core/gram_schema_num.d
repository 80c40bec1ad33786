build2/core/gram_schema_num.o: core/gram_schema_num.c \
 core/gram_schema_impl.h core/gram.h core/json.h
core/gram_schema_impl.h:
core/gram.h:
core/json.h:
