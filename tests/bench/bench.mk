# tests/bench/bench.mk - the load generator (issue 7), included by the top
# Makefile, which defines CC, WARN, CFLAGS and BUILD. Only libc and libm.

LOADGEN := build/wnc-loadgen
LOADGEN_SRCS := $(wildcard tests/bench/*.c)
LOADGEN_OBJS := $(patsubst tests/bench/%.c,build/bench/%.o,$(LOADGEN_SRCS))

# -O2 whatever the top CFLAGS say: the generator must not be the bottleneck.
build/bench/%.o: tests/bench/%.c tests/bench/lg.h
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -O2 -MMD -MP -c $< -o $@

$(LOADGEN): $(LOADGEN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -O2 $(LOADGEN_OBJS) -o $@ -lm

-include $(LOADGEN_OBJS:.o=.d)
