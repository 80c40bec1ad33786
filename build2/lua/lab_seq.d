build2/lua/lab_seq.o: lua/lab_seq.c core/ctx.h core/gmatch.h core/gram.h \
 lua/lhost_impl.h /usr/include/lua5.4/lauxlib.h \
 /usr/include/lua5.4/luaconf.h /usr/include/lua5.4/lua.h \
 /usr/include/lua5.4/lua.h lua/lhost.h core/logits.h core/model.h \
 core/tok.h
core/ctx.h:
core/gmatch.h:
core/gram.h:
lua/lhost_impl.h:
/usr/include/lua5.4/lauxlib.h:
/usr/include/lua5.4/luaconf.h:
/usr/include/lua5.4/lua.h:
/usr/include/lua5.4/lua.h:
lua/lhost.h:
core/logits.h:
core/model.h:
core/tok.h:
