#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Fail when a function of the module has a stack frame above a bound.
# rustc never warns about big frames (gcc's -Wframe-larger-than covers the
# C shim only) and the kernel stack is 16 KiB, shared by the whole call
# chain from the system call down to the block layer.
#
# A frame is what the prologue reserves: `sub $N,%rsp` plus 8 bytes per
# callee-saved register pushed before it. A variable-sized frame
# (`sub %reg,%rsp`) always fails.
#
# usage: scripts/check-stack.sh [MODULE.ko] (default vexfs.ko)
# env:   STACK_FRAME_MAX bytes (default 1024), STACK_TOP (how many of the
#        biggest frames to print, default 5)
set -eu

KO=${1:-vexfs.ko}
MAX=${STACK_FRAME_MAX:-1024}
TOP=${STACK_TOP:-5}
[ -f "$KO" ] || { echo "check-stack: $KO not found" >&2; exit 2; }

objdump -d -C --no-show-raw-insn "$KO" | perl -e '
	my ($max, $top) = @ARGV;
	my ($fn, $pushes, %frame, @bad);
	while (<STDIN>) {
		if (/^[0-9a-f]+ <(.*)>:$/) { $fn = $1; $pushes = 0; next; }
		next unless defined $fn;
		$pushes++ if /\tpush\s+%r/;
		if (/\tsub\s+\$0x([0-9a-f]+),%rsp/) {
			my $n = hex($1);
			next if $n >= 2**31;	# a negative immediate: it gives stack back
			my $f = $n + 8 * $pushes;
			$frame{$fn} = $f if $f > ($frame{$fn} // 0);
		} elsif (/\tsub\s+%r\w+,%rsp/) {
			push @bad, "variable-sized frame in $fn";
		}
	}
	my @by = sort { $frame{$b} <=> $frame{$a} } keys %frame;
	printf "check-stack: biggest frames (bound %d bytes):\n", $max;
	printf "  %5d %s\n", $frame{$_}, $_ for grep { defined } @by[0 .. $top - 1];
	for (@by) { push @bad, sprintf("%d-byte frame in %s", $frame{$_}, $_) if $frame{$_} > $max; }
	if (@bad) { print STDERR "check-stack: $_\n" for @bad; exit 1; }
' "$MAX" "$TOP"
