#!/bin/sh
# Builds each named libFuzzer target (tests/fuzz/NAME.c) with clang, ASan and UBSan against
# the library sources, and runs it for FUZZ_SECONDS on a copy of its seed corpus. Fails on
# the first crash, leak or sanitizer report; the reproducer is kept in tests/out/fuzz/.
# The library is compiled once (instrumented with -fsanitize=fuzzer-no-link) and every
# target links against it: nine separate compilations of it took five minutes of make test.
# With FUZZ_RESULTS=FILE (make fuzz sets bench/RESULTS.md) a dated table of each target's
# runs, runs per second, coverage and corpus size is appended to FILE when all passed.
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${FUZZ_SECONDS:=60}"
command -v clang >/dev/null || { echo "fuzz: clang is missing (apt-get install clang)"; exit 1; }
out=tests/out/fuzz
mkdir -p "$out/obj"
pkgs="libpcap libcares libcurl ncursesw sqlite3 jansson inih libmicrohttpd"
cflags="-g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=address,undefined -fno-sanitize-recover=undefined -Imonitor -Iprobes $(pkg-config --cflags $pkgs)"
srcs=$(ls monitor/*.c probes/*.c | grep -v 'monitor/rangewatchd.c')
export cflags out
# Objects are rebuilt when their source or any header is newer (headers: coarse but safe).
newest_h=$(ls -t monitor/*.h probes/*.h | head -n 1)
if ! printf '%s\n' $srcs | xargs -P "$(nproc)" -I{} sh -c '
	o="$out/obj/$(echo {} | tr / _).o"
	[ "$o" -nt {} ] && [ "$o" -nt "$0" ] && exit 0
	clang $cflags -fsanitize=fuzzer-no-link -c {} -o "$o" 2>"$o.log" || { cat "$o.log"; exit 1; }' "$newest_h"
then
	echo "FAIL fuzz: the library does not build"; exit 1
fi
objs=$(printf '%s\n' $srcs | sed "s|/|_|; s|^|$out/obj/|; s|\$|.o|")
pass=0; fail=0
rows=""
for t in "$@"; do
	bin=$out/$t
	# a target may need a library of its own: a "fuzz-pkgs: NAME..." line in its comment
	xpkgs=$(sed -n 's/^ \* fuzz-pkgs: //p' "tests/fuzz/$t.c")
	xcflags=""; xlibs=""
	[ -n "$xpkgs" ] && xcflags="-Iui $(pkg-config --cflags $xpkgs)" && xlibs=$(pkg-config --libs $xpkgs)
	if ! clang $cflags $xcflags -fsanitize=fuzzer -o "$bin" "tests/fuzz/$t.c" $objs \
	    $(pkg-config --libs $pkgs) $xlibs -lm 2>"$out/$t.build.log"; then
		echo "FAIL $t: does not build"; cat "$out/$t.build.log"; fail=$((fail + 1)); continue
	fi
	corpus=$out/$t.corpus
	rm -rf "$corpus"; mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$t" ] && cp -r "tests/fuzz/corpus/$t/." "$corpus/"
	if (cd "$out" && "./$t" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
	    -artifact_prefix="$t-" "$t.corpus" >"$t.log" 2>&1); then
		execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$t.log" | grep -o '[0-9]*$')
		cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -n 1 | grep -o '[0-9]*')
		ncorp=$(find "$corpus" -type f | wc -l)
		echo "ok   $t: ${execs:-?} runs in ${FUZZ_SECONDS}s, coverage ${cov:-?} edges, corpus $ncorp inputs"
		rows="$rows| $t | ${execs:-?} | $(( ${execs:-0} / FUZZ_SECONDS )) | ${cov:-?} | $ncorp |
"
		pass=$((pass + 1))
	else
		echo "FAIL $t: crash (see $out/$t.log)"; tail -n 30 "$out/$t.log"; fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
if [ "$fail" -eq 0 ] && [ -n "${FUZZ_RESULTS:-}" ]; then
	{
		printf '\n## %s — fuzzing (make fuzz, FUZZ_SECONDS=%s)\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$FUZZ_SECONDS"
		printf 'Machine: %s x %s, %s, %s; commit %s. Each target alone, one process, from its seed\n' \
		    "$(nproc)" "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
		    "$(clang --version | head -n 1)" "ASan+UBSan" "$(git rev-parse --short HEAD 2>/dev/null)"
		printf 'corpus in tests/fuzz/corpus/ (copied); no crash, leak or sanitizer report. Load average at\n'
		printf 'the end: %s. Coverage: libFuzzer'"'"'s edge count (cov:) at the end of the run.\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
		printf '| target | runs | runs/s | coverage (edges) | corpus (inputs) |\n|---|---|---|---|---|\n%s' "$rows"
	} >>"$FUZZ_RESULTS"
	echo "fuzz: figures appended to $FUZZ_RESULTS"
fi
[ "$fail" -eq 0 ]
