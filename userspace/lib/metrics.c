// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/metrics.h"

#define METRICS_TEXT_MAX 4096  /* one page: a single pwrite that readers see whole or not at all */
#define CHECK_TAG "# check "

/* FNV-1a: enough to tell a torn read from a whole one, not a security property. */
static uint64_t text_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void metrics_file_resume(const char *path, struct metric_value *v, size_t n)
{
	char text[METRICS_TEXT_MAX + 1], name[64], *line, *save = NULL;
	struct stat st;
	uint64_t value;
	ssize_t len;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return;
	len = fstat(fd, &st) || !S_ISREG(st.st_mode) ? -1 : pread(fd, text, METRICS_TEXT_MAX, 0);
	close(fd);
	if (len <= 0 || !metrics_text_valid(text, (size_t)len))
		return;
	text[len] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%63s %" SCNu64, name, &value) != 2)
			continue;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(v[i].name, name))
				v[i].value = value;
	}
}

int metrics_file_open(const char *path)
{
	/* O_NOFOLLOW: the run directory is root's, but never write through a planted link. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);

	return fd < 0 ? -errno : fd;
}

int metrics_file_publish(int fd, const struct metric_value *v, size_t n)
{
	char text[METRICS_TEXT_MAX];
	size_t len = 0;
	int w;

	for (size_t i = 0; i < n; i++) {
		w = snprintf(text + len, sizeof(text) - len, "%-31s %20" PRIu64 "\n", v[i].name,
			     v[i].value);
		if (w < 0 || (size_t)w >= sizeof(text) - len)
			return -ENOSPC;
		len += (size_t)w;
	}
	w = snprintf(text + len, sizeof(text) - len, CHECK_TAG "%016" PRIx64 "\n",
		     text_hash(text, len));
	if (w < 0 || (size_t)w >= sizeof(text) - len)
		return -ENOSPC;
	len += (size_t)w;
	if (pwrite(fd, text, len, 0) != (ssize_t)len)
		return errno ? -errno : -EIO;
	return 0;
}

bool metrics_text_valid(const char *text, size_t len)
{
	const char *tag = NULL;
	char want[32];

	/* The check line is the last line of the text. */
	for (size_t i = 0; i + sizeof(CHECK_TAG) - 1 <= len; i++)
		if ((i == 0 || text[i - 1] == '\n') && !memcmp(text + i, CHECK_TAG, sizeof(CHECK_TAG) - 1))
			tag = text + i;
	if (!tag)
		return false;
	snprintf(want, sizeof(want), CHECK_TAG "%016" PRIx64 "\n", text_hash(text, (size_t)(tag - text)));
	return (size_t)(text + len - tag) == strlen(want) && !memcmp(tag, want, strlen(want));
}
