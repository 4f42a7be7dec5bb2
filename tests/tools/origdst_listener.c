// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stands where cage-proxy and cage-dns will stand, for the kernel matrix test: accepts on the
 * transparent port and on TCP/UDP 53 of the gateway addresses, and tells each client what the
 * original-destination lookup API says about its connection.
 *   origdst_listener PIN_DIR GW4 GW6 PROXY_PORT DNS_PORT
 * Replies: "ORIG <family> <addr> <port> <mode> <pid> <comm>\n" or "NOORIG <errno>\n" on TCP,
 * "DNS <payload>" on UDP. Prints "ready" when every socket is bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enforce/origdst.h"

static int listen_on(int family, int type, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd = socket(family, type | SOCK_CLOEXEC, 0);

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &in->sin_addr);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &in6->sin6_addr);
		len = sizeof(*in6);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) ||
	    (type == SOCK_STREAM && listen(fd, 64))) {
		fprintf(stderr, "listen %s:%d: %s\n", addr, port, strerror(errno));
		exit(1);
	}
	return fd;
}

static void answer_tcp(int map_fd, int lfd)
{
	char reply[256], addr[INET6_ADDRSTRLEN], comm[17];
	struct cage_orig o;
	int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), err;

	if (cfd < 0)
		return;
	err = origdst_lookup_fd(map_fd, cfd, &o);
	if (err) {
		snprintf(reply, sizeof(reply), "NOORIG %d\n", -err);
	} else {
		inet_ntop(o.dst.family == CAGE_AF_INET6 ? AF_INET6 : AF_INET, o.dst.ip, addr, sizeof(addr));
		memcpy(comm, o.comm, 16);
		comm[16] = '\0';
		snprintf(reply, sizeof(reply), "ORIG %s %s %u %u %u %s\n",
			 o.dst.family == CAGE_AF_INET6 ? "ipv6" : "ipv4", addr, o.dport, o.mode, o.pid, comm);
	}
	if (write(cfd, reply, strlen(reply)) < 0)
		perror("write");
	close(cfd);
}

static void answer_udp(int fd)
{
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	char buf[1024], reply[1100];
	ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &flen);
	int len;

	if (n < 0)
		return;
	len = snprintf(reply, sizeof(reply), "DNS %.*s", (int)n, buf);
	sendto(fd, reply, (size_t)len, 0, (struct sockaddr *)&from, flen);
}

int main(int argc, char **argv)
{
	struct pollfd pfd[6];
	int map_fd, proxy_port, dns_port;

	if (argc != 6) {
		fprintf(stderr, "usage: %s PIN_DIR GW4 GW6 PROXY_PORT DNS_PORT\n", argv[0]);
		return 2;
	}
	proxy_port = atoi(argv[4]);
	dns_port = atoi(argv[5]);
	map_fd = origdst_open(argv[1]);
	if (map_fd < 0) {
		fprintf(stderr, "open %s/orig_dst: %s\n", argv[1], strerror(-map_fd));
		return 1;
	}
	pfd[0].fd = listen_on(AF_INET, SOCK_STREAM, argv[2], proxy_port);
	pfd[1].fd = listen_on(AF_INET6, SOCK_STREAM, argv[3], proxy_port);
	pfd[2].fd = listen_on(AF_INET, SOCK_STREAM, argv[2], dns_port);
	pfd[3].fd = listen_on(AF_INET6, SOCK_STREAM, argv[3], dns_port);
	pfd[4].fd = listen_on(AF_INET, SOCK_DGRAM, argv[2], dns_port);
	pfd[5].fd = listen_on(AF_INET6, SOCK_DGRAM, argv[3], dns_port);
	for (int i = 0; i < 6; i++)
		pfd[i].events = POLLIN;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (poll(pfd, 6, -1) < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < 6; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			if (i < 4)
				answer_tcp(map_fd, pfd[i].fd);
			else
				answer_udp(pfd[i].fd);
		}
	}
}
