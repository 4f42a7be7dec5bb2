// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memory floor under cage-proxy: a program that links the same shared libraries (OpenSSL,
 * Vectorscan and through it libstdc++, libbpf, libseccomp, libyaml, the compressors) and calls
 * none of them. The dynamic loader maps them, applies their relocations and binds their symbols;
 * that alone makes pages resident. Prints "VmRSS RssAnon RssFile" in kB, from /proc/self/status.
 * proxy_memory.sh sets it beside the idle proxy, so a reader can tell our memory from theirs.
 */
#include <brotli/decode.h>
#include <bpf/bpf.h>
#include <hs/hs.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>
#include <zlib.h>
#include <zstd.h>

static long status_kb(const char *key)
{
	char line[128];
	long kb = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			sscanf(line + n + 1, "%ld", &kb);
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	/* Never taken: each call keeps its library among the program's DT_NEEDED (--as-needed). */
	if (argc > 1000) {
		SSL_CTX_free(SSL_CTX_new(TLS_method()));
		OPENSSL_cleanse(argv, 0);
		hs_free_database(NULL);
		seccomp_release(NULL);
		yaml_parser_delete(NULL);
		BrotliDecoderDestroyInstance(NULL);
		ZSTD_freeDCtx(NULL);
		inflateEnd(NULL);
		bpf_map_get_fd_by_id(0);
	}
	printf("%ld %ld %ld\n", status_kb("VmRSS"), status_kb("RssAnon"), status_kb("RssFile"));
	return 0;
}
