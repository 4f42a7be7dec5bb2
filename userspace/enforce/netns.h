/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Named network namespaces in the way iproute2 keeps them: a bind mount of the namespace file
 * under a shared run directory (normally /run/netns). Every function returns 0 (or an fd) on
 * success and a negative errno on failure; none of them prints.
 */
#ifndef CAGE_ENFORCE_NETNS_H
#define CAGE_ENFORCE_NETNS_H

#define NETNS_RUN_DIR "/run/netns"

/* Creates netns <run_dir>/<name> without moving the calling thread; -EEXIST if the name is taken.
 * On success *fd_out (if fd_out is not NULL) is an O_RDONLY|O_CLOEXEC fd on the new netns. */
int netns_create(const char *name, const char *run_dir, int *fd_out);

/* An O_RDONLY|O_CLOEXEC fd on <run_dir>/<name>, or -ENOENT. */
int netns_open(const char *name, const char *run_dir);

/* Detaches the bind mount and removes the file; the netns dies with its last user. -ENOENT. */
int netns_delete(const char *name, const char *run_dir);

/* Moves the calling thread into netns fd; *saved_fd receives an fd on the netns it left. */
int netns_enter(int fd, int *saved_fd);

/* Moves the calling thread back into saved_fd and closes it (also when setns fails). */
int netns_leave(int saved_fd);

/* socket(2) created inside netns_fd (-1: the current netns), always with SOCK_CLOEXEC. */
int netns_socket(int netns_fd, int domain, int type, int protocol);

/* Writes val to /proc/sys/<path> as seen from inside netns_fd (-1: the current netns). */
int netns_sysctl_write(int netns_fd, const char *path, const char *val);

#endif
