#ifndef OOMESH_CMESHLINUX_H
#define OOMESH_CMESHLINUX_H
// Linux calls Swift's Glibc module does not expose (epoll, eventfd, accept4), wrapped so
// Swift never touches the packed `struct epoll_event`.
#include <stdint.h>

/// One readiness event: the file descriptor and its epoll event bits.
typedef struct {
    int32_t fd;
    uint32_t events;
} oo_event;

enum {
    OO_EVENT_IN = 0x001,
    OO_EVENT_OUT = 0x004,
    OO_EVENT_ERR = 0x008,
    OO_EVENT_HUP = 0x010,
    OO_EVENT_RDHUP = 0x2000,
};

/// epoll_create1(EPOLL_CLOEXEC).
int oo_epoll_create(void);
/// Adds (op 1), modifies (op 3) or removes (op 2) `fd` with `events`; data is the fd.
int oo_epoll_ctl(int epfd, int op, int fd, uint32_t events);
/// epoll_wait into `out` (at most `max`, up to 256); returns the count or -1.
int oo_epoll_wait(int epfd, oo_event *out, int max, int timeout_ms);
/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK).
int oo_eventfd(void);

/// A pipe whose two ends are close-on-exec (pipe2 with O_CLOEXEC), so no child inherits it
/// unless dup2 puts it on its stdio.
int oo_pipe_cloexec(int fds[2]);
/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC.
int oo_accept(int fd);
/// Makes stdout line-buffered (Swift cannot touch C's `stdout` global under strict concurrency).
void oo_line_buffer_stdout(void);
/// Names the calling thread (prctl PR_SET_NAME; at most 15 bytes are kept).
void oo_set_thread_name(const char *name);
/// The calling thread's name into `out` (at least 16 bytes).
void oo_thread_name(char *out);

#endif
