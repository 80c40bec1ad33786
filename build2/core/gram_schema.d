build2/core/gram_schema.o: core/gram_schema.c core/gram.h \
 core/gram_schema_impl.h core/json.h
core/gram.h:
core/gram_schema_impl.h:
core/json.h:
