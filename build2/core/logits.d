build2/core/logits.o: core/logits.c core/logits.h core/tok.h
core/logits.h:
core/tok.h:
