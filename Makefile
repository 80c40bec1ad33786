# logitlab build. `make` builds build/logitlab and build/liblogitlab.a (core + kernels).
# Targets: all test asan fuzz bench clean. Libraries come from pkg-config.
#
# Layout: core/*.c and kernels/cpu/*.c form the static library. Files named
# *_avx2.c / *_avx512.c / *_avxvnni.c / *_amx.c are compiled with their ISA flags and chosen at run time.

CC      ?= cc
BUILD   ?= build
PKGS    := openblas lua5.4 ncursesw sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
OPT     ?= -O2
CFLAGS  ?=
CFLAGS  += -std=c11 $(OPT) -g -ffp-contract=off -Wall -Wextra -Werror -D_GNU_SOURCE -pthread \
           -Icore -Ikernels/cpu -Ilua -Iapp $(PKG_CFLAGS) $(XCFLAGS)
LDFLAGS += -pthread $(XLDFLAGS)
LDLIBS  += $(PKG_LIBS) -lm

AVX2_FLAGS   := -mavx2 -mfma -mf16c
AVX512_FLAGS := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mfma -mf16c
# AVX-VNNI (VEX vpdpbusd, no AVX-512): gcc >= 11, clang >= 12
AVXVNNI_FLAGS := -mavx2 -mfma -mf16c -mavxvnni
# AMX-INT8 (tile instructions) on top of AVX-512: gcc >= 11, clang >= 12
AMX_FLAGS := $(AVX512_FLAGS) -mamx-tile -mamx-int8

LIB_SRC  := $(wildcard core/*.c) $(wildcard kernels/cpu/*.c)
LUA_SRC  := $(wildcard lua/*.c)
LUA_LUA  := $(wildcard lua/*.lua)
APP_SRC  := $(wildcard app/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_SH  := $(wildcard tests/test_*.sh)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LUA_OBJ  := $(LUA_SRC:%.c=$(BUILD)/%.o) $(if $(LUA_LUA),$(BUILD)/lua/embed.o)
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
LIB      := $(BUILD)/liblogitlab.a
LUALIB   := $(if $(LUA_SRC),$(BUILD)/liblogitlab-lua.a)
BIN      := $(BUILD)/logitlab

.PHONY: all test asan fuzz fuzz-long bench clean cuda-check
all: $(BIN) $(LIB)

$(BUILD)/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX2_FLAGS) -MMD -MP -c $< -o $@
$(BUILD)/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512_FLAGS) -MMD -MP -c $< -o $@
$(BUILD)/%_avxvnni.o: %_avxvnni.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVXVNNI_FLAGS) -MMD -MP -c $< -o $@
$(BUILD)/%_amx.o: %_amx.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AMX_FLAGS) -MMD -MP -c $< -o $@
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The Lua layer (lua/) sits between app/ and core/: its own archive. Its
# Lua half (lua/*.lua) is embedded as strings by lua/embed.sh.
$(BUILD)/lua/embed.c: $(LUA_LUA) lua/embed.sh
	@mkdir -p $(dir $@)
	sh lua/embed.sh $(LUA_LUA) > $@
$(BUILD)/lua/embed.o: $(BUILD)/lua/embed.c
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/liblogitlab-lua.a: $(LUA_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(APP_OBJ) $(LUALIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(APP_OBJ) $(LUALIB) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(LUALIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -MMD -MP -o $@ $< $(LUALIB) $(LIB) $(LDFLAGS) $(LDLIBS)

# Tests of the workbench's engine side (session, worker) link app/'s objects.
APP_TESTOBJ := $(filter-out $(BUILD)/app/main.o,$(APP_OBJ))
$(BUILD)/tests/test_session: tests/test_session.c $(wildcard tests/*.h) $(APP_TESTOBJ) $(LUALIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -MMD -MP -o $@ $< $(APP_TESTOBJ) $(LUALIB) $(LIB) $(LDFLAGS) $(LDLIBS)

# Every test binary prints `# passed N failed M`; tests/run.sh sums them into
# the final `N passed, N failed` line and fails if any test failed.
test: $(BIN) $(TEST_BIN)
	@LOGITLAB=$(BIN) BUILD=$(BUILD) sh tests/run.sh $(TEST_BIN) $(TEST_SH)

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -fno-omit-frame-pointer" \
	  XCFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  XLDFLAGS="-fsanitize=address,undefined" test

# `make fuzz` runs each harness for FUZZ_TIME seconds; `make fuzz-long` for
# FUZZ_RUNS executions each (default 1,000,000: hours on two cores), and
# prints each harness's execution count and time (libFuzzer's last line).
FUZZ_TIME ?= 20
FUZZ_RUNS ?= 1000000
FUZZ_LIMIT = $(if $(FUZZ_LONG),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_TIME))
fuzz-long:
	$(MAKE) fuzz FUZZ_LONG=1
fuzz:
	$(MAKE) CC=clang BUILD=build-fuzz OPT="-O1 -fno-omit-frame-pointer" \
	  XCFLAGS="-fsanitize=fuzzer-no-link,address,undefined" build-fuzz/liblogitlab.a
	@mkdir -p build-fuzz/corpus
	@set -e; for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  clang -std=c11 -g -O1 -D_GNU_SOURCE -Icore -Ikernels/cpu -fsanitize=fuzzer,address,undefined \
	    -o build-fuzz/$$n $$f build-fuzz/liblogitlab.a $(PKG_LIBS) -lm -pthread; \
	  mkdir -p build-fuzz/corpus/$$n; cp -n tests/fuzz/seeds/$$n/* build-fuzz/corpus/$$n/ 2>/dev/null || true; \
	  echo "fuzz: $$n ($(FUZZ_LIMIT))"; \
	  build-fuzz/$$n $(FUZZ_LIMIT) -rss_limit_mb=2048 -max_len=65536 build-fuzz/corpus/$$n 2>build-fuzz/$$n.log \
	    || { tail -40 build-fuzz/$$n.log; exit 1; }; \
	  tail -1 build-fuzz/$$n.log; \
	done

bench: $(BIN)
	@sh bench/run.sh $(BIN)

# ---- CUDA (issue 7) ---------------------------------------------------------
# `make CUDA=1` puts the CUDA backend (kernels/cuda/*.cu, compiled by nvcc) in
# the library, defines LOGITLAB_CUDA (core/backend.c then leaves
# backend_cuda_create to kernels/cuda) and links cudart and cuBLAS. Without
# CUDA=1 the build is CPU-only as before; the one addition is that objects and
# tests depend on a stamp naming the CUDA setting, so that switching it
# rebuilds everything the macro may change. `make cuda-check` compiles every
# .cu file (no GPU needed). NVCC_WERROR= relaxes nvcc's -Werror.
CUDA_HOME    ?= /usr/local/cuda
NVCC         ?= $(CUDA_HOME)/bin/nvcc
CUDA_GENCODE ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
                -gencode arch=compute_90,code=compute_90
NVCC_WERROR  ?= -Werror all-warnings -Xcompiler -Werror
NVCCFLAGS    ?= -O3 -g -lineinfo -std=c++17 $(CUDA_GENCODE) -Xcompiler -Wall,-Wextra $(NVCC_WERROR) \
                -Icore -Ikernels/cpu
CU_SRC     := $(wildcard kernels/cuda/*.cu)
CU_OBJ     := $(CU_SRC:%.cu=$(BUILD)/%.o)
CUDA_STAMP := $(BUILD)/.cuda-$(if $(filter 1,$(CUDA)),on,off)

$(BUILD)/kernels/cuda/%.o: kernels/cuda/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -c $< -o $@

$(CUDA_STAMP):
	@mkdir -p $(BUILD)
	@rm -f $(BUILD)/.cuda-on $(BUILD)/.cuda-off
	@touch $@
$(LIB_OBJ) $(LUA_OBJ) $(APP_OBJ) $(TEST_BIN): $(CUDA_STAMP)

ifeq ($(CUDA),1)
CFLAGS += -DLOGITLAB_CUDA -Ikernels/cuda
LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++
$(LIB): $(CU_OBJ)
endif

cuda-check: $(CU_OBJ)

-include $(CU_OBJ:.o=.d)
# ---- end CUDA ----------------------------------------------------------------

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(LUA_OBJ:.o=.d) $(APP_OBJ:.o=.d) $(TEST_BIN:=.d)
