build2/lua/lab_grammar.o: lua/lab_grammar.c core/gmatch.h core/gram.h \
 core/gram.h lua/lhost_impl.h /usr/include/lua5.4/lauxlib.h \
 /usr/include/lua5.4/luaconf.h /usr/include/lua5.4/lua.h \
 /usr/include/lua5.4/lua.h lua/lhost.h core/model.h core/tok.h
core/gmatch.h:
core/gram.h:
core/gram.h:
lua/lhost_impl.h:
/usr/include/lua5.4/lauxlib.h:
/usr/include/lua5.4/luaconf.h:
/usr/include/lua5.4/lua.h:
/usr/include/lua5.4/lua.h:
lua/lhost.h:
core/model.h:
core/tok.h:
