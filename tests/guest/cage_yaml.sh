# SPDX-License-Identifier: GPL-2.0-only
# The guest cage.yaml that tests/guest/check_guest.sh (the qemu guest) and
# tests/integration/guest_init_ns.sh (guest-init in namespaces) both run: sourced, then
# `guest_cage_yaml NAME IPV6 >FILE` (IPV6 true|false); a caller appends its own `mounts:`.
# Needs PUB4 from /run/lab/env.sh.
guest_cage_yaml() {
	cat <<YAML
name: $1
ephemeral: true
user: "1000:1000"
command: [/g9/probes.sh]
domains:
  allow: [api.allowed.test]
dns:
  upstream: [$PUB4]
proxy:
  # The lab's fake public CA, trusted only by cage-proxy's upstream side (as tests/lab/cage.yaml).
  upstream_ca: /run/lab/ca/lab-ca.crt
ipv6: $2
YAML
}
