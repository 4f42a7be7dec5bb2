/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The nftables-only mode of a cage, for guest kernels that cannot load or attach the cage's
 * cgroup BPF programs. nftables alone then closes the cage:
 *   - in the cage netns, `table inet cagectl_nftonly` lets out only the gateway's proxy and
 *     resolver ports, TCP to the inspected and passthrough ports, and port 53; private and
 *     link-local destinations and everything else are counted, logged (NFLOG group
 *     NFT_ONLY_LOG_GROUP) and rejected (TCP reset) or dropped (sendmsg gets EPERM);
 *   - in the (guest) root netns, `table inet cagectl_nat_<name>` DNATs the cage's TCP to those
 *     ports to cage-proxy's transparent port and its port 53 to cage-dns; cage-proxy recovers the
 *     original destination from conntrack (origdst_conntrack);
 *   - the usual host table `cagectl_<name>` drops everything else from the veth.
 * The BPF maps (config, ports, orig_dst, dns_allow, stats, events) are still created and pinned
 * when the kernel can, so the daemons and the monitor run unchanged.
 * What nft cannot do that BPF did is listed in docs/backends.md.
 * Functions return 0 or -errno; none prints except where said.
 */
#ifndef CAGE_ENFORCE_NFT_ONLY_H
#define CAGE_ENFORCE_NFT_ONLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enforce/nft.h"

#define NFT_ONLY_CAGE_TABLE  "cagectl_nftonly"
#define NFT_ONLY_NAT_PREFIX  "cagectl_nat_"
#define NFT_ONLY_LOG_GROUP   4242
/* <run_dir>/nft-only marks a cage built in this mode (cage_verify, status, doctor read it). */
#define NFT_ONLY_MARKER      "nft-only"

/*
 * Probes every BPF program type and map type the cage needs. Returns true when all are there;
 * otherwise `missing` lists the missing ones ("cgroup_sock_addr cgroup_skb ..."), and *maps_ok
 * says whether the maps alone can still be created. CAGECTL_GUEST_NO_BPF=1 (a test hook, set only
 * by tests/integration/guest_init_ns*.sh) reports every program type missing.
 */
bool nft_only_bpf_probe(char *missing, size_t len, bool *maps_ok);

struct nft_only_spec {
	struct nft_cage_spec base;       /* the same addresses and ports as the usual tables */
	const uint16_t *tcp_ports;       /* tcp_inspect + tcp_passthrough: DNATed to the proxy */
	size_t n_tcp_ports;
};

/* `table inet cagectl_nftonly` in netns_fd (the cage) and `table inet cagectl_nat_<name>` in
 * the calling thread's netns, each one atomic `nft -f` transaction. */
int nft_only_apply_cage(int netns_fd, const struct nft_only_spec *spec);
int nft_only_apply_nat(const struct nft_only_spec *spec);
/* The NAT table of the root netns (the cage table goes with the cage netns); -ENOENT if gone. */
int nft_only_remove_nat(const char *name);
/* 0 if both tables exist with the chains and per-chain rule counts apply would create. */
int nft_only_verify(int netns_fd, const struct nft_only_spec *spec, char *what, size_t len);

/* The BPF maps without the programs, filled as the loader fills them (cage_bpf_fill_maps) and
 * pinned under spec->pin_dir as it pins them. */
struct cage_bpf_spec;
int nft_only_pin_maps(const struct cage_bpf_spec *spec);
/* 0 if every map the daemons open is pinned. */
int nft_only_verify_maps(const char *pin_dir, char *what, size_t len);

/* Packets the nft-only tables dropped or rejected so far (for the audit record at down). */
int nft_only_denied_count(int netns_fd, uint64_t *packets);

#endif
