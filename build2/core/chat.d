build2/core/chat.o: core/chat.c core/chat.h
core/chat.h:
