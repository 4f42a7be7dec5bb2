// SPDX-License-Identifier: GPL-2.0-only
/*
 * sockops: when a redirected TCP socket sends its SYN, its local port is known. Copy the
 * original destination from socket storage into `orig_dst` under the 4-tuple cage-proxy will see
 * from accept(). TCP_CONNECT_CB runs before the SYN leaves, so the entry always exists before the
 * proxy can accept the connection.
 */
#include "cage_common.h"

char LICENSE[] SEC("license") = "GPL";

SEC("sockops")
int sockops_rekey(struct bpf_sock_ops *skops)
{
	struct cage_config *cfg;
	struct cage_tuple key;
	struct cage_orig *orig;
	struct bpf_sock *sk;
	__u32 ip[4];

	if (skops->op != BPF_SOCK_OPS_TCP_CONNECT_CB)
		return 1;
	sk = skops->sk;
	if (!sk)
		return 1;
	orig = bpf_sk_storage_get(&sock_orig, sk, 0, 0);
	cfg = cage_cfg();
	if (!orig || !cfg)
		return 1;

	__builtin_memset(&key, 0, sizeof(key));
	if (skops->family == AF_INET) {
		key.client.family = CAGE_AF_INET;
		key.client.ip[0] = skops->local_ip4;
	} else {
		ip[0] = skops->local_ip6[0];
		ip[1] = skops->local_ip6[1];
		ip[2] = skops->local_ip6[2];
		ip[3] = skops->local_ip6[3];
		if (ip6_is_v4mapped(ip)) {
			key.client.family = CAGE_AF_INET;
			key.client.ip[0] = ip[3];
		} else {
			key.client.family = CAGE_AF_INET6;
			key.client.ip[0] = ip[0];
			key.client.ip[1] = ip[1];
			key.client.ip[2] = ip[2];
			key.client.ip[3] = ip[3];
		}
	}
	key.client_port = skops->local_port;
	key.server_port = orig->mode == PORT_MODE_DNS ? cfg->dns_port : cfg->proxy_port;
	bpf_map_update_elem(&orig_dst, &key, orig, BPF_ANY);
	return 1;
}
