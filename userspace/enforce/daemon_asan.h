/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Included once by each daemon's main.c. In sanitized builds, LeakSanitizer stops the world with
 * ptrace and symbolizes in a child process; the daemons' seccomp filter refuses both, and a
 * refused leak check spins forever instead of failing. So sanitized daemons skip the leak check
 * and report unsymbolized, however they were started (the unit tests run the same code with leak
 * checking on). No effect on a normal build.
 */
#ifndef CAGE_ENFORCE_DAEMON_ASAN_H
#define CAGE_ENFORCE_DAEMON_ASAN_H

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0:symbolize=0";
}
#endif
#endif

#endif
