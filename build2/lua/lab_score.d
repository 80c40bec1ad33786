build2/lua/lab_score.o: lua/lab_score.c core/ctx.h lua/lhost_impl.h \
 /usr/include/lua5.4/lauxlib.h /usr/include/lua5.4/luaconf.h \
 /usr/include/lua5.4/lua.h /usr/include/lua5.4/lua.h lua/lhost.h \
 core/logits.h core/model.h core/score.h core/tok.h
core/ctx.h:
lua/lhost_impl.h:
/usr/include/lua5.4/lauxlib.h:
/usr/include/lua5.4/luaconf.h:
/usr/include/lua5.4/lua.h:
/usr/include/lua5.4/lua.h:
lua/lhost.h:
core/logits.h:
core/model.h:
core/score.h:
core/tok.h:
