#!/bin/sh
# Builds each named libFuzzer target (tests/fuzz/NAME.c) with clang, ASan and UBSan against
# the library sources, and runs it for FUZZ_SECONDS on a copy of its seed corpus. Fails on
# the first crash, leak or sanitizer report; the reproducer is kept in tests/out/fuzz/.
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${FUZZ_SECONDS:=60}"
command -v clang >/dev/null || { echo "fuzz: clang is missing (apt-get install clang)"; exit 1; }
out=tests/out/fuzz
mkdir -p "$out"
pkgs="libpcap libcares libcurl ncursesw sqlite3 jansson inih"
srcs=$(ls monitor/*.c probes/*.c | grep -v 'monitor/rangewatchd.c')
pass=0; fail=0
for t in "$@"; do
	bin=$out/$t
	if ! clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined -Imonitor -Iprobes $(pkg-config --cflags $pkgs) \
	    -o "$bin" "tests/fuzz/$t.c" $srcs $(pkg-config --libs $pkgs) -lm 2>"$out/$t.build.log"; then
		echo "FAIL $t: does not build"; cat "$out/$t.build.log"; fail=$((fail + 1)); continue
	fi
	corpus=$out/$t.corpus
	rm -rf "$corpus"; mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$t" ] && cp -r "tests/fuzz/corpus/$t/." "$corpus/"
	if (cd "$out" && "./$t" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
	    -artifact_prefix="$t-" "$t.corpus" >"$t.log" 2>&1); then
		execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$t.log" | grep -o '[0-9]*$')
		cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -n 1 | grep -o '[0-9]*')
		echo "ok   $t: ${execs:-?} runs in ${FUZZ_SECONDS}s, coverage ${cov:-?} edges"
		pass=$((pass + 1))
	else
		echo "FAIL $t: crash (see $out/$t.log)"; tail -n 30 "$out/$t.log"; fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
