# tests/bench/bench.mk - the load generator (issue 7) and the FastCGI echo floor (issue 13),
# included by the top Makefile, which defines CC, WARN, CFLAGS and BUILD.
# wnc-loadgen needs only libc and libm; wnc-fcgi-echo is wnc-fcgi's FastCGI layer (fcgi/http.c,
# fcgi/wire.c and the core they use) with an echo handler.

LOADGEN := build/wnc-loadgen
ECHO_FLOOR := build/wnc-fcgi-echo
LOADGEN_SRCS := $(filter-out tests/bench/echo.c,$(wildcard tests/bench/*.c))
LOADGEN_OBJS := $(patsubst tests/bench/%.c,build/bench/%.o,$(LOADGEN_SRCS))

# -O2 whatever the top CFLAGS say: the generator must not be the bottleneck.
build/bench/%.o: tests/bench/%.c tests/bench/lg.h
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -O2 -MMD -MP -c $< -o $@

$(LOADGEN): $(LOADGEN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -O2 $(LOADGEN_OBJS) -o $@ -lm

# Built like wnc-fcgi, from the same objects: the floor must not differ from ours for build
# reasons.
build/bench/echo.o: tests/bench/echo.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(ECHO_FLOOR): build/bench/echo.o $(BUILD)/fcgi/http.o $(BUILD)/fcgi/wire.o $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

-include $(LOADGEN_OBJS:.o=.d) build/bench/echo.d
